-- Randomized stress (fixed seed): thousands of tasks put to and get from
-- small bounded queues while a chaos task cancels random ones. Every item
-- whose put succeeded is received exactly once; an item whose put was
-- cancelled is never received.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"
local await_ = asyncio.await

math.randomseed(20240611)

local function iscancel(e) return asyncio.iserror(e, asyncio.CancelledError) end

local function run(kind, maxsize, nproducers, nitems, nconsumers)
  local q = asyncio[kind](maxsize)
  local put_ok, put_cancelled, received = {}, {}, {}
  local nput, ncancelled_puts, nreceived, ncancelled_gets = 0, 0, 0, 0

  local producer = async function(p)
    for k = 1, nitems do
      local id = p * 100000 + k
      local ok, e = pcall(await_, q:put(id))
      if ok then
        put_ok[id] = true
        nput = nput + 1
      else
        assert(iscancel(e), tostring(e))
        put_cancelled[id] = true
        ncancelled_puts = ncancelled_puts + 1
        asyncio.current_task():uncancel()
      end
      if math.random() < 0.3 then
        local ok2, e2 = pcall(await_, asyncio.sleep(0))
        if not ok2 then assert(iscancel(e2)); asyncio.current_task():uncancel() end
      end
    end
  end

  local consumer = async function()
    while true do
      local ok, v = pcall(await_, q:get())
      if not ok then
        if iscancel(v) then ncancelled_gets = ncancelled_gets + 1 end
        return
      end
      received[v] = (received[v] or 0) + 1
      nreceived = nreceived + 1
      if math.random() < 0.5 then
        local ok2 = pcall(await_, asyncio.sleep(0))
        if not ok2 then return end
      end
    end
  end

  local producers = {}
  for p = 1, nproducers do
    producers[p] = asyncio.create_task(producer(p))
  end
  local consumers = {}
  local spawner = asyncio.create_task(async function()
    for i = 1, nconsumers do
      consumers[i] = asyncio.create_task(consumer())
      if i % 10 == 0 then await asyncio.sleep(0) end
    end
  end)
  local chaos_on = true
  local chaos = asyncio.create_task(async function()
    while chaos_on do
      await asyncio.sleep(0)
      for _ = 1, math.random(0, 3) do
        local pool = (math.random() < 0.5 or #consumers == 0) and producers or consumers
        local t = pool[math.random(#pool)]
        if not t:done() then t:cancel() end
      end
    end
  end)

  await spawner
  await asyncio.gather(table.unpack(producers))
  chaos_on = false
  await chaos
  q:shutdown()
  consumers[#consumers + 1] = {return_exceptions = true}
  await asyncio.gather(table.unpack(consumers))
  -- whatever no consumer took is still in the queue
  local left = 0
  while not q:empty() do
    local v = q:get_nowait()
    received[v] = (received[v] or 0) + 1
    left = left + 1
  end

  local problems = 0
  for id in pairs(put_ok) do
    if received[id] ~= 1 then problems = problems + 1 end
  end
  for id, n in pairs(received) do
    if not put_ok[id] or put_cancelled[id] or n ~= 1 then problems = problems + 1 end
  end
  print(string.format("%-13s maxsize=%d items=%d", kind, maxsize, nproducers * nitems),
    "every put item received once:", problems == 0 and nput == nreceived + left,
    "cancelled puts seen:", ncancelled_puts > 0, "cancelled gets seen:", ncancelled_gets > 0,
    "empty:", q:empty(), "no waiters:", tostring(q):match("getters") == nil and tostring(q):match("putters") == nil)
end

asyncio.run(async function()
  run("Queue", 4, 30, 100, 2000)
  run("LifoQueue", 3, 20, 60, 1000)
  run("PriorityQueue", 5, 20, 60, 1000)
  run("Queue", 0, 10, 100, 1000)
end)
