// spawn, Node.js: N async functions, each yields once to the event loop
// (a macrotask yield through setImmediate, the closest match to
// asyncio.sleep(0)) and returns its index; gathered with Promise.all.
'use strict';
const N = process.argv[2] !== undefined ? parseInt(process.argv[2], 10) : 200000;

function cpu() { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; }
const yieldOnce = () => new Promise((resolve) => setImmediate(resolve));

async function work(i) {
  await yieldOnce();
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
