-- Top-level await in the main chunk runs the loop until the awaited thing is
-- done; tasks the chunk starts keep running, and finish before alua exits.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"
local A, await = asyncio.async, asyncio.await

local say = A(function(msg, delay)
  await(asyncio.sleep(delay))
  print(msg)
  return msg
end, "say")

print("start")
local background = asyncio.create_task(say("background, after the chunk", 0.05))
print(await(say("awaited at top level", 0.01)))
print(await(asyncio.sleep(0, "sleep at top level")))
local f = asyncio.Future()
asyncio.create_task(function() f:set_result("future set by a task") end)
print(await(f))
print("background done?", background:done())
-- a task started with no await after it still runs
asyncio.create_task(say("fire and forget", 0))
-- awaiting from a plain callback while the loop runs is refused
local fut = asyncio.Future()
fut:add_done_callback(function()
  local ok, err = pcall(await, asyncio.sleep(0))
  print("callback await:", ok, err)
end)
fut:set_result(1)
await(asyncio.sleep(0.001))
print("end of chunk")
