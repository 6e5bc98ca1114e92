// http, Node.js: N GETs of a 1 KiB body from the local server at URL, 50 in
// flight, with the built-in fetch (undici: kept-alive connections).
'use strict';
const N = process.argv[2] !== undefined ? parseInt(process.argv[2], 10) : 2000;
const URL = process.argv[3] || 'http://127.0.0.1:8080/';
const INFLIGHT = 50;

function cpu() { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; }

async function main() {
  let next = 0, bytes = 0;
  async function worker() {
    while (next < N) {
      next++;
      const resp = await fetch(URL);
      const body = await resp.arrayBuffer();
      if (resp.status === 200) bytes += body.byteLength;
    }
  }
  const c0 = cpu();
  process.stderr.write('@start\n');
  const workers = [];
  for (let i = 0; i < INFLIGHT; i++) workers.push(worker());
  await Promise.all(workers);
  process.stderr.write(`@end cpu=${(cpu() - c0).toFixed(6)}\n`);
  return bytes;
}

main().then((bytes) => console.log(`checksum=${N}:${bytes}`));
