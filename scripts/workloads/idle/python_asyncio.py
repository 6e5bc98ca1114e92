# idle, Python asyncio: N tasks each parked on one asyncio.Event; once all
# are parked the event is set and they finish, gathered.  The harness runs
# this with N and with 0 and divides the difference in max RSS by N.
import asyncio
import sys
import time


def peak_rss_kib():
    """Peak RSS of this process in KiB (VmHWM).  The harness reads it from
    here rather than from wait4(), whose ru_maxrss also counts the memory
    of the process that spawned this one when that is larger."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


async def work(ev, i):
    await ev.wait()
    return i


async def main(n):
    c0 = time.process_time()
    sys.stderr.write("@start\n")
    sys.stderr.flush()
    ev = asyncio.Event()
    tasks = [asyncio.create_task(work(ev, i)) for i in range(1, n + 1)]
    await asyncio.sleep(0)           # every task runs up to its wait
    ev.set()
    results = await asyncio.gather(*tasks)
    sys.stderr.write("@end cpu=%.6f\n" % (time.process_time() - c0))
    sys.stderr.flush()
    return results


n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
results = asyncio.run(main(n))
print("checksum=%d:%d" % (len(results), sum(results)))
sys.stderr.write("@maxrss kib=%d\n" % peak_rss_kib())
