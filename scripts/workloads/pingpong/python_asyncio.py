# pingpong, Python asyncio: two tasks, two asyncio.Queues, N round trips:
# ping puts i on q1 and gets the reply from q2; pong gets from q1 and puts
# v * 2 on q2.  (python_uvloop.py runs this file on uvloop's event loop.)
import asyncio
import sys
import time


async def ping(n, q1, q2):
    s = 0
    for i in range(1, n + 1):
        await q1.put(i)
        s += await q2.get()
    return s


async def pong(n, q1, q2):
    for _ in range(n):
        await q2.put(await q1.get() * 2)


async def main(n):
    c0 = time.process_time()
    sys.stderr.write("@start\n")
    sys.stderr.flush()
    q1, q2 = asyncio.Queue(), asyncio.Queue()
    s, _ = await asyncio.gather(asyncio.create_task(ping(n, q1, q2)),
                                asyncio.create_task(pong(n, q1, q2)))
    sys.stderr.write("@end cpu=%.6f\n" % (time.process_time() - c0))
    sys.stderr.flush()
    return s


n = int(sys.argv[1]) if len(sys.argv) > 1 else 500000
print("checksum=%d:%d" % (n, asyncio.run(main(n))))
