-- Lock, Semaphore and Event misuse: clear errors naming the function and
-- the argument; releasing what is not held raises.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"

local function try(f)
  local ok, e = pcall(f)
  print(ok, e)
end

local lock = asyncio.Lock()
try(function() lock:release() end)
try(function() lock.release() end)
try(function() lock.locked("lock") end)
try(function() lock.acquire(asyncio.Event()) end)
try(function() asyncio.Event().set(lock) end)
try(function() asyncio.Semaphore(-1) end)
try(function() asyncio.Semaphore(1.5) end)
try(function() asyncio.BoundedSemaphore("two") end)
try(function() asyncio.BoundedSemaphore(0 / 0) end)
try(function() local _ <close> = lock:acquire() end)

-- a guard closed after the lock was released by hand
try(function()
  local g <close> = await lock:acquire()
  lock:release()
end)
print(lock:locked())

-- the guard releases only when closed: dropping it keeps the lock held
do
  await lock:acquire()
  collectgarbage()
  collectgarbage()
  print("still held after a collection:", lock:locked())
  lock:release()
end

-- a semaphore counts: the guard of each acquire releases one permit
local sem = asyncio.BoundedSemaphore(2)
do
  local a <close> = await sem:acquire()
  local b <close> = await sem:acquire()
  print(a == b, sem)
end
print(sem)
try(function() sem:release() end)

-- awaiting from a plain callback is refused
asyncio.run(async function()
  local f = asyncio.Future()
  f:add_done_callback(function()
    try(function() asyncio.await(lock:acquire()) end)
    try(function() asyncio.await(asyncio.Event():wait()) end)
  end)
  f:set_result(true)
  await asyncio.sleep(0)
  print("lock untouched:", lock)
end)
