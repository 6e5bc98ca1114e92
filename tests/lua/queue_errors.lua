-- Queue misuse: clear errors that name the function and the argument.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"

local function try(f, ...)
  local ok, e = pcall(f, ...)
  print(ok, tostring(e))
end

try(function() asyncio.Queue(-1) end)
try(function() asyncio.Queue(0 / 0) end)
try(function() asyncio.Queue(1.5) end)
try(function() asyncio.Queue(math.huge) end)
try(function() asyncio.LifoQueue("big") end)
try(function() asyncio.PriorityQueue(1, "less") end)
print(asyncio.Queue("3").maxsize, asyncio.Queue(nil).maxsize, asyncio.Queue(2.0).maxsize)

local q = asyncio.Queue(1)
try(function() q.qsize() end)
try(function() q.get_nowait({}) end)
try(function() q.put_nowait(42, 1) end)
try(function() q:put() end)
try(function() q:put_nowait() end)
try(function() q:get_nowait() end)
q:put_nowait("x")
try(function() q:put_nowait("y") end)
q:get_nowait()
try(function() q:task_done() q:task_done() end)

-- a method called on another queue acts on that queue
local other = asyncio.Queue()
q.put_nowait(other, "to other")
print(other:qsize(), q:qsize(), other:get_nowait())
local op = q.get(other)
other:put_nowait("via other's get")
print(await op)

local pq = asyncio.PriorityQueue()
try(function() pq:put_nowait(nil) end)
try(function() pq:put(nil) end)
-- items that cannot be compared: the error propagates, nothing is lost
pq:put_nowait(1)
try(function() pq:put_nowait({}) end)
print("qsize", pq:qsize())
local failing = asyncio.PriorityQueue(0, function(a, b) error("comparator failed", 0) end)
failing:put_nowait(1)
try(function() failing:put_nowait(2) end)
try(function() return failing:get_nowait() end)
print("qsize", failing:qsize())

-- an awaited put cannot be awaited again
asyncio.run(async function()
  local p = q:put("once")
  await p
  try(function() await p end)
  print(q:get_nowait(), q:empty())
  -- await from a plain callback is refused
  local f = asyncio.Future()
  f:add_done_callback(function() try(asyncio.await, q:get()) end)
  f:set_result(true)
  await asyncio.sleep(0)
  -- awaiting something that is not awaitable
  try(function() await q end)
end)
