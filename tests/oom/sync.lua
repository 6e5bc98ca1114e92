-- Out-of-memory sweep: queues, locks, events, conditions, semaphores and
-- barriers, with tasks waiting on each.
local raises = dofile("support/raises.lua")

asyncio.run(async function()
  local q = asyncio.Queue(2)
  local consumer = asyncio.create_task(async function()
    local sum = 0
    while true do
      local v = await q:get()
      if not v then break end
      sum = sum + v
      q:task_done()
    end
    q:task_done()
    return sum
  end)
  for i = 1, 5 do await q:put(i) end
  await q:put(false)
  await q:join()
  print("queue", await consumer)

  local pq = asyncio.PriorityQueue()
  for _, v in ipairs({3, 1, 2}) do pq:put_nowait(v) end
  print("priority", pq:get_nowait(), pq:get_nowait(), pq:get_nowait())

  local lock = asyncio.Lock()
  local order = {}
  local async function worker(i)
    local _ <close> = await lock:acquire()
    await asyncio.sleep(0)
    order[#order + 1] = i
  end
  await asyncio.gather(worker(1), worker(2), worker(3))
  print("lock", table.concat(order, " "))

  local ev = asyncio.Event()
  local waiter = asyncio.create_task(function() await ev:wait() return "set" end)
  await asyncio.sleep(0)
  ev:set()
  print("event", await waiter)

  local cond = asyncio.Condition()
  local ready = false
  local cw = asyncio.create_task(async function()
    local _ <close> = await cond:acquire()
    await cond:wait_for(function() return ready end)
    return "notified"
  end)
  await asyncio.sleep(0)
  do
    local _ <close> = await cond:acquire()
    ready = true
    cond:notify_all()
  end
  print("condition", await cw)

  local sem = asyncio.Semaphore(2)
  local peak, inside = 0, 0
  local async function user()
    local _ <close> = await sem:acquire()
    inside = inside + 1
    peak = math.max(peak, inside)
    await asyncio.sleep(0)
    inside = inside - 1
  end
  await asyncio.gather(user(), user(), user(), user())
  print("semaphore", peak)

  local b = asyncio.Barrier(2)
  local r = await asyncio.gather(b:wait(), b:wait())
  print("barrier", r[1] + r[2])

  -- a waiter cancelled while it waits on a queue
  local getter = asyncio.create_task(function() return await q:get() end)
  await asyncio.sleep(0)
  getter:cancel()
  print("cancelled get", raises(asyncio.CancelledError, function() return await getter end))
  q:shutdown(true)
end)
