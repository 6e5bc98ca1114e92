// timers, Node.js: N async functions sleeping delays spread over [0, 1) s
// ((i % 1000) / 1000 s, through setTimeout), gathered with Promise.all.
// The figure is CPU time, not wall time.
'use strict';
const N = process.argv[2] !== undefined ? parseInt(process.argv[2], 10) : 100000;

function cpu() { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; }
const sleep = (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

async function work(i) {
  await sleep((i % 1000) / 1000);
  return i;
}

async function main() {
  const c0 = cpu();
  process.stderr.write('@start\n');
  const tasks = new Array(N);
  for (let i = 0; i < N; i++) tasks[i] = work(i + 1);
  const results = await Promise.all(tasks);
  process.stderr.write(`@end cpu=${(cpu() - c0).toFixed(6)}\n`);
  let sum = 0;
  for (const r of results) sum += r;
  console.log(`checksum=${results.length}:${sum}`);
}

main();
