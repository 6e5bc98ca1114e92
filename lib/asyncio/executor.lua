-- asyncio.to_thread(fn, ...): an async function, as in asyncio, so nothing
-- runs until it is awaited; the work itself is loop:run_in_executor's (see
-- src/lua/loop/worker.c). Written in Lua so that tracebacks through it show only
-- the user's frames.
local M, I = ...

local await, submit = M.await, I.to_thread_submit

M.to_thread = M.async(function(fn, ...) return await(submit(fn, ...)) end, "to_thread")
