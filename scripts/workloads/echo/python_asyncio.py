# echo, Python asyncio: a TCP echo server with asyncio streams. Listens on
# 127.0.0.1 at the port given (0: any), prints `port=<n>`, serves until
# killed.  (python_uvloop.py runs this file on uvloop's event loop.)
import asyncio
import sys


async def handle(reader, writer):
    while True:
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()


async def main(port):
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print("port=%d" % server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
