// idle, Node.js: N async functions each parked on one event (a promise
// resolved by set()); once all are parked the event is set and they
// finish, gathered.  The harness runs this with N and with 0 and divides
// the difference in max RSS by N.
'use strict';
const N = process.argv[2] !== undefined ? parseInt(process.argv[2], 10) : 100000;

// Peak RSS of this process in KiB (VmHWM).  The harness reads it from here
// rather than from wait4(), whose ru_maxrss also counts the memory of the
// process that spawned this one when that is larger.
function peakRssKib() {
  try {
    const m = /VmHWM:\s*(\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : -1;
  } catch (e) {
    return -1;
  }
}

function cpu() { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; }

class Event {
  constructor() { this.promise = new Promise((resolve) => { this.resolve = resolve; }); }
  set() { this.resolve(); }
  wait() { return this.promise; }
}

async function work(ev, i) {
  await ev.wait();
  return i;
}

async function main() {
  const c0 = cpu();
  process.stderr.write('@start\n');
  const ev = new Event();
  const tasks = new Array(N);
  for (let i = 0; i < N; i++) tasks[i] = work(ev, i + 1);
  await new Promise((resolve) => setImmediate(resolve));  // all are parked
  ev.set();
  const results = await Promise.all(tasks);
  process.stderr.write(`@end cpu=${(cpu() - c0).toFixed(6)}\n`);
  let sum = 0;
  for (const r of results) sum += r;
  console.log(`checksum=${results.length}:${sum}`);
  process.on('exit', () => process.stderr.write(`@maxrss kib=${peakRssKib()}\n`));
}

main();
