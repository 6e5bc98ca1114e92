# echo, Python on uvloop: the asyncio program, run on uvloop's event loop.
import asyncio
import os
import runpy

import uvloop

asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "python_asyncio.py"), run_name="__main__")
