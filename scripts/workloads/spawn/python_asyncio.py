# spawn, Python asyncio: N tasks, each sleep(0) once and return its index,
# gathered.  (python_uvloop.py runs this file on uvloop's event loop.)
import asyncio
import sys
import time


async def work(i):
    await asyncio.sleep(0)
    return i


async def main(n):
    c0 = time.process_time()
    sys.stderr.write("@start\n")
    sys.stderr.flush()
    tasks = [asyncio.create_task(work(i)) for i in range(1, n + 1)]
    results = await asyncio.gather(*tasks)
    sys.stderr.write("@end cpu=%.6f\n" % (time.process_time() - c0))
    sys.stderr.flush()
    return results


n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
results = asyncio.run(main(n))
print("checksum=%d:%d" % (len(results), sum(results)))
