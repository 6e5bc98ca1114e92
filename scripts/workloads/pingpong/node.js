// pingpong, Node.js: two async functions, two minimal promise-based
// unbounded FIFO queues, N round trips: ping puts i on q1 and gets the
// reply from q2; pong gets from q1 and puts v * 2 on q2.
'use strict';
const N = process.argv[2] !== undefined ? parseInt(process.argv[2], 10) : 500000;

function cpu() { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; }

class Queue {
  constructor() { this.items = []; this.getters = []; }
  put(v) {                           // never waits: unbounded
    if (this.getters.length > 0) this.getters.shift()(v);
    else this.items.push(v);
  }
  get() {
    if (this.items.length > 0) return Promise.resolve(this.items.shift());
    return new Promise((resolve) => this.getters.push(resolve));
  }
}

async function ping(q1, q2) {
  let s = 0;
  for (let i = 1; i <= N; i++) {
    q1.put(i);
    s += await q2.get();
  }
  return s;
}

async function pong(q1, q2) {
  for (let i = 0; i < N; i++) q2.put((await q1.get()) * 2);
}

async function main() {
  const c0 = cpu();
  process.stderr.write('@start\n');
  const q1 = new Queue(), q2 = new Queue();
  const [s] = await Promise.all([ping(q1, q2), pong(q1, q2)]);
  process.stderr.write(`@end cpu=${(cpu() - c0).toFixed(6)}\n`);
  console.log(`checksum=${N}:${s}`);
}

main();
