-- The hot paths allocate nothing: with the collector stopped, 20000 round
-- trips through queues, a lock and events leave the Lua heap where it was
-- (only the two tasks and their coroutine objects are new).
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"
local N = 20000
local function measure(label, setup)
  asyncio.run(async function()
    local ping, pong = setup()
    -- warm up
    local a, b = asyncio.create_task(ping(100)), asyncio.create_task(pong(100))
    await a await b
    collectgarbage() collectgarbage("stop")
    local before = collectgarbage("count")
    a, b = asyncio.create_task(ping(N)), asyncio.create_task(pong(N))
    await a await b
    local after = collectgarbage("count")
    collectgarbage("restart")
    print(label, "allocation-free:", after - before < 8)
  end)
end
measure("queue ping-pong", function()
  local q1, q2 = asyncio.Queue(), asyncio.Queue()
  return async function(n) for i = 1, n do await q1:put(i) local _ = await q2:get() end end,
         async function(n) for _ = 1, n do await q2:put(await q1:get()) end end
end)
measure("bounded queue", function()
  local q1, q2 = asyncio.Queue(1), asyncio.Queue(1)
  return async function(n) for i = 1, n do await q1:put(i) local _ = await q2:get() end end,
         async function(n) for _ = 1, n do await q2:put(await q1:get()) end end
end)
measure("lock hand-off", function()
  local lock = asyncio.Lock()
  return async function(n) for i = 1, n do local _ <close> = await lock:acquire() await asyncio.sleep(0) end end,
         async function(n) for i = 1, n do local _ <close> = await lock:acquire() await asyncio.sleep(0) end end
end)
measure("event ping-pong", function()
  local e1, e2 = asyncio.Event(), asyncio.Event()
  return async function(n) for i = 1, n do e1:set() await e2:wait() e2:clear() end end,
         async function(n) for i = 1, n do await e1:wait() e1:clear() e2:set() end end
end)
