# http, aiohttp: N GETs of a 1 KiB body from the local server at URL, 50 in
# flight, on one ClientSession (50 kept-alive connections).
import asyncio
import sys
import time

import aiohttp

INFLIGHT = 50


async def main(n, url):
    bytes_ = 0
    next_i = 0
    connector = aiohttp.TCPConnector(limit=INFLIGHT)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker():
            nonlocal next_i, bytes_
            while next_i < n:
                next_i += 1
                async with session.get(url) as resp:
                    body = await resp.read()
                    if resp.status == 200:
                        bytes_ += len(body)

        c0 = time.process_time()
        sys.stderr.write("@start\n")
        sys.stderr.flush()
        await asyncio.gather(*(worker() for _ in range(INFLIGHT)))
        sys.stderr.write("@end cpu=%.6f\n" % (time.process_time() - c0))
        sys.stderr.flush()
    return bytes_


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    url = sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:8080/"
    total = asyncio.run(main(n, url))
    print("checksum=%d:%d" % (n, total))
