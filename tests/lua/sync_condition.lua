-- Condition: notify wakes waiters oldest first, notify_all wakes all,
-- wait_for re-checks its predicate, wait holds the lock again when it
-- returns or raises (also when cancelled), and misuse is refused.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"

async function main()
  local cond = asyncio.Condition()
  local log = {}
  local waiter = async function(name)
    local _ <close> = await cond:acquire()
    await cond:wait()
    log[#log + 1] = name .. (cond:locked() and "+lock" or "-lock")
  end
  local ts = {}
  for i = 1, 4 do ts[i] = asyncio.create_task(waiter("w" .. i)) end
  await asyncio.sleep(0)
  print(cond)
  do
    local _ <close> = await cond:acquire()
    cond:notify()
  end
  await asyncio.sleep(0)
  print("notify():", table.concat(log, " "), cond)
  do
    local _ <close> = await cond:acquire()
    cond:notify(2)
  end
  await asyncio.sleep(0)
  print("notify(2):", table.concat(log, " "))
  do
    local _ <close> = await cond:acquire()
    cond:notify_all()
    print("notify_all() while holding the lock:", cond)
  end
  await asyncio.gather(table.unpack(ts))
  print("all:", table.concat(log, " "), cond)

  -- wait_for: the predicate is checked on each wake-up
  local items = {}
  local consumer = asyncio.create_task(async function()
    local _ <close> = await cond:acquire()
    local n = await cond:wait_for(function() return #items >= 3 and #items end)
    return n, cond:locked()
  end)
  for i = 1, 3 do
    await asyncio.sleep(0)
    local _ <close> = await cond:acquire()
    items[#items + 1] = i
    cond:notify_all()
  end
  print("wait_for:", await consumer)
  -- a predicate already true does not wait
  do
    local _ <close> = await cond:acquire()
    print("already true:", await cond:wait_for(function() return "yes" end))
  end

  -- a cancelled wait still takes the lock back before raising
  local lock = asyncio.Lock()
  local c2 = asyncio.Condition(lock)
  local seen
  local t = asyncio.create_task(async function()
    local _ <close> = await c2:acquire()
    local ok, e = pcall(asyncio.await, c2:wait())
    seen = string.format("%s %s locked=%s", tostring(ok), e.type, tostring(lock:locked()))
  end)
  await asyncio.sleep(0)
  -- hold the lock so that the cancelled waiter has to wait for it
  await lock:acquire()
  t:cancel()
  await asyncio.sleep(0)
  print("cancelled waiter waits for the lock:", seen, t:done())
  lock:release()
  await t
  print("cancelled waiter:", seen, lock:locked())

  -- a waiter notified and then cancelled passes the notification on
  local c3 = asyncio.Condition()
  local got = {}
  local w = async function(name)
    local _ <close> = await c3:acquire()
    local ok = pcall(asyncio.await, c3:wait())
    if ok then got[#got + 1] = name end
  end
  local a = asyncio.create_task(w("a"))
  local b = asyncio.create_task(w("b"))
  await asyncio.sleep(0)
  do
    local _ <close> = await c3:acquire()
    c3:notify(1) -- a
  end
  a:cancel()
  await asyncio.gather(a, b)
  print("notification passed on:", table.concat(got, " "))

  -- misuse
  local function try(f) local ok, e = pcall(f) print(ok, e) end
  try(function() cond:notify() end)
  try(function() cond:notify_all() end)
  try(function() cond:wait() end)
  try(function() return await cond:wait_for(function() return false end) end)
  do
    local _ <close> = await cond:acquire()
    try(function() cond:wait_for("x") end)
    try(function() cond:notify(-1) end)
    try(function() cond:notify(1.5) end)
  end
  try(function() cond.notify({}) end)
  try(function() asyncio.Condition(asyncio.Semaphore()) end)
  try(function() cond:release() end)
end

asyncio.run(main)
