-- Awaited queue operations on every path of their await: puts into a queue
-- with room (through growth, ring wrap-around and shrinking), puts that wait
-- for room, gets that wait for an item, cancellation of a parked get or
-- put, shutdown of a queue with parked getters, bound methods called on
-- another queue, several q:put() operations pending at once, and what a
-- parked task is recorded as waiting on.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"

local cancelled = require "cancelled"

-- what asyncio.ps() records task t as waiting on: the kind, and whether
-- the object is the queue q
local function waits(t, q)
  for _, rec in ipairs(asyncio.ps()) do
    if rec.task == t then return rec.kind .. (rec.object == q and " on the queue" or " elsewhere") end
  end
  return "(not listed)"
end

async function main()
  -- awaited puts and gets keep FIFO order through growth and wrap-around
  do
    local q = asyncio.Queue()
    local next_in, next_out, ok = 1, 1, true
    for step = 1, 400 do
      for _ = 1, (step * 7) % 13 do
        await q:put(next_in)
        next_in = next_in + 1
      end
      for _ = 1, (step * 5) % 17 do
        if q:empty() then break end
        if await q:get() ~= next_out then ok = false end
        next_out = next_out + 1
      end
    end
    while not q:empty() do
      if await q:get() ~= next_out then ok = false end
      next_out = next_out + 1
    end
    print("fifo through growth and wrap", ok, next_in == next_out, q:qsize())
  end

  -- a big queue filled and drained by awaits shrinks and stays in order
  do
    local q = asyncio.Queue()
    for i = 1, 1000 do await q:put(i) end
    local ok = true
    for i = 1, 990 do
      if await q:get() ~= i then ok = false end
    end
    for i = 1001, 1010 do await q:put(i) end
    local rest = {}
    while not q:empty() do rest[#rest + 1] = await q:get() end
    print("shrink kept order", ok, table.concat(rest, " "))
  end

  -- LIFO and priority queues through awaited puts
  do
    local lifo, prio = asyncio.LifoQueue(), asyncio.PriorityQueue()
    for _, v in ipairs {5, 3, 8, 1, 9, 2, 7, 6, 4, 10} do
      await lifo:put(v)
      await prio:put(v)
    end
    local a, b = {}, {}
    for _ = 1, 10 do
      a[#a + 1] = await lifo:get()
      b[#b + 1] = await prio:get()
    end
    print("lifo", table.concat(a, " "))
    print("prio", table.concat(b, " "))
  end

  -- nil and false are items like any other
  do
    local q = asyncio.Queue()
    await q:put(nil)
    await q:put(false)
    print("nil and false", q:qsize(), await q:get(), await q:get())
  end

  -- a get on an empty queue waits; each put hands over one item, in order
  do
    local q = asyncio.Queue()
    local got = {}
    local getter = asyncio.create_task(async function()
      for _ = 1, 3 do got[#got + 1] = await q:get() end
    end)
    await asyncio.sleep(0)
    print("getter waits:", waits(getter, q), q)
    await q:put("a")
    print("after one put", q:qsize(), #got)
    await q:put("b")
    await q:put("c")
    await getter
    print("got", table.concat(got, " "), q:qsize())
  end

  -- a put into a full bounded queue waits for room, keeps its value, and
  -- waiting putters go in the order they came
  do
    local q = asyncio.Queue(1)
    await q:put("first")
    local order = {}
    local function putter(v)
      return asyncio.create_task(async function()
        await q:put(v)
        order[#order + 1] = "put " .. v
      end)
    end
    local p1, p2 = putter("p1"), putter("p2")
    await asyncio.sleep(0)
    print("putter waits:", waits(p1, q), q, q:full())
    for _ = 1, 3 do
      local v = await q:get()
      order[#order + 1] = "got " .. v
    end
    await asyncio.gather(p1, p2)
    print(table.concat(order, ", "), q:qsize())
  end

  -- cancelling a parked get or put: nothing is taken or put, and the
  -- queue serves the next waiter
  do
    local q = asyncio.Queue()
    local g1 = asyncio.create_task(async function() return await q:get() end)
    local g2 = asyncio.create_task(async function() return await q:get() end)
    await asyncio.sleep(0)
    g1:cancel()
    await asyncio.sleep(0)
    await q:put("x")
    print("parked get cancelled:", cancelled(g1), await g2, q:qsize(), q)

    local full = asyncio.Queue(1)
    await full:put("kept")
    local p1 = asyncio.create_task(async function() await full:put("never") end)
    local p2 = asyncio.create_task(async function() await full:put("second") end)
    await asyncio.sleep(0)
    p1:cancel()
    await asyncio.sleep(0)
    print("parked put cancelled:", cancelled(p1), await full:get(), await full:get(), full:qsize())
    await p2
  end

  -- shutdown wakes parked getters with QueueShutDown
  do
    local q = asyncio.Queue()
    local g = asyncio.create_task(async function() return await q:get() end)
    await asyncio.sleep(0)
    q:shutdown()
    local ok, e = pcall(asyncio.await, g)
    print("shutdown with a parked getter:", ok, asyncio.iserror(e, asyncio.QueueShutDown))
  end

  -- a queue's bound methods called with another queue act on that queue
  do
    local q1, q2 = asyncio.Queue(), asyncio.Queue()
    await q1.put(q2, "to q2")
    print("bound put on another queue", q1:qsize(), q2:qsize(), await q1.get(q2))
  end

  -- several q:put() pending at once keep their own values and go in the
  -- order they are awaited; each can be awaited once
  do
    local q = asyncio.Queue()
    local a, b, c = q:put("a"), q:put("b"), q:put("c")
    await c
    await a
    await b
    print("pending puts", await q:get(), await q:get(), await q:get())
    local ok, e = pcall(asyncio.await, a)
    print("awaited twice", ok, e)
  end
end

asyncio.run(main)
