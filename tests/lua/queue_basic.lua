-- Queues: FIFO, LIFO and priority order, sizes, nowait variants, bounded
-- puts that wait, task_done/join, waiters served first come first served,
-- and awaiting queue operations at top level.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"

local function drain(q)
  local t = {}
  while not q:empty() do t[#t + 1] = tostring(q:get_nowait()) end
  return table.concat(t, " ")
end

-- order of the three kinds
local fifo, lifo, prio = asyncio.Queue(), asyncio.LifoQueue(), asyncio.PriorityQueue()
for _, v in ipairs {5, 3, 8, 1, 9, 2, 7} do
  fifo:put_nowait(v)
  lifo:put_nowait(v)
  prio:put_nowait(v)
end
print("fifo", drain(fifo))
print("lifo", drain(lifo))
print("prio", drain(prio))

-- a comparator: largest first; tables ordered by a field
local maxq = asyncio.PriorityQueue(0, function(a, b) return a > b end)
for _, v in ipairs {5, 3, 8, 1} do maxq:put_nowait(v) end
print("max first", drain(maxq))
local jobs = asyncio.PriorityQueue(nil, function(a, b) return a.pri < b.pri end)
jobs:put_nowait {pri = 2, name = "two"}
jobs:put_nowait {pri = 1, name = "one"}
jobs:put_nowait {pri = 3, name = "three"}
print("jobs", jobs:get_nowait().name, jobs:get_nowait().name, jobs:get_nowait().name)

-- a priority queue stays ordered through growth and mixed puts and gets
math.randomseed(7)
local pq, ref = asyncio.PriorityQueue(), {}
local sorted_ok = true
for round = 1, 2000 do
  if math.random() < 0.6 or pq:empty() then
    local v = math.random(1, 500)
    pq:put_nowait(v)
    ref[#ref + 1] = v
  else
    table.sort(ref)
    if pq:get_nowait() ~= table.remove(ref, 1) then sorted_ok = false end
  end
end
table.sort(ref)
while not pq:empty() do
  if pq:get_nowait() ~= table.remove(ref, 1) then sorted_ok = false end
end
print("priority order kept", sorted_ok, #ref)

-- FIFO ring through wrap-around and growth
local ring = asyncio.Queue()
local next_in, next_out, ring_ok = 1, 1, true
for step = 1, 3000 do
  local n = (step * 7) % 13
  for _ = 1, n do ring:put_nowait(next_in); next_in = next_in + 1 end
  for _ = 1, (step * 5) % 17 do
    if ring:empty() then break end
    if ring:get_nowait() ~= next_out then ring_ok = false end
    next_out = next_out + 1
  end
end
while not ring:empty() do
  if ring:get_nowait() ~= next_out then ring_ok = false end
  next_out = next_out + 1
end
print("fifo ring kept order", ring_ok, next_in == next_out)

-- nil items are fine in FIFO and LIFO queues
local nq = asyncio.Queue()
nq:put_nowait(nil)
nq:put_nowait(false)
print("nil items", nq:qsize(), nq:get_nowait(), nq:get_nowait(), nq:empty())

-- sizes and the maxsize field
local q = asyncio.Queue(2)
print(q, q.maxsize, q:qsize(), q:empty(), q:full())
q:put_nowait("a")
q:put_nowait("b")
print(q, q:qsize(), q:empty(), q:full())
local ok, e = pcall(q.put_nowait, q, "c")
print("put_nowait on full", ok, asyncio.iserror(e, asyncio.QueueFull))
print(q:get_nowait(), q:get_nowait())
ok, e = pcall(q.get_nowait, q)
print("get_nowait on empty", ok, asyncio.iserror(e, asyncio.QueueEmpty))
print(asyncio.LifoQueue(), asyncio.PriorityQueue(3), asyncio.Queue().maxsize)

-- awaiting at top level runs the loop
await q:put("top")
print("top-level get", await q:get())
print("operations", q:get(), q:put(1), q:join())

local main = async function()
  -- a bounded queue makes producers wait; consumers get in put order
  local bq = asyncio.Queue(1)
  local log = {}
  local producer = async function(name, n)
    for i = 1, n do
      await bq:put(name .. i)
      log[#log + 1] = "put " .. name .. i
    end
  end
  local p1 = asyncio.create_task(producer("x", 3))
  local p2 = asyncio.create_task(producer("y", 2))
  await asyncio.sleep(0)
  print("waiting putters", bq)
  local got = {}
  for _ = 1, 5 do got[#got + 1] = await bq:get() end
  await asyncio.gather(p1, p2)
  print("got", table.concat(got, " "))
  print("log", table.concat(log, " "))

  -- getters are served in arrival order
  local uq = asyncio.Queue()
  local order = {}
  local getter = async function(name)
    local v = await uq:get()
    order[#order + 1] = name .. "=" .. v
  end
  local ts = {}
  for i = 1, 4 do ts[i] = asyncio.create_task(getter("g" .. i)) end
  await asyncio.sleep(0)
  print(uq)
  for i = 1, 4 do uq:put_nowait(i * 10) end
  await asyncio.gather(table.unpack(ts))
  print("getters", table.concat(order, " "))

  -- task_done and join
  local wq = asyncio.Queue()
  local done = {}
  local worker = async function()
    while true do
      local item = await wq:get()
      await asyncio.sleep(0.001 * item)
      done[#done + 1] = item
      wq:task_done()
    end
  end
  local workers = {}
  for i = 1, 3 do workers[i] = asyncio.create_task(worker()) end
  for i = 1, 6 do await wq:put(i) end
  print("join pending", wq)
  await wq:join()
  print("joined", #done, wq:qsize(), wq)
  for i = 1, 3 do workers[i]:cancel() end
  workers[#workers + 1] = {return_exceptions = true}
  await asyncio.gather(table.unpack(workers))
  -- join returns at once when nothing is unfinished
  await wq:join()
  print("join on a finished queue returns")

  -- a put that was created first keeps its own value
  local pq2 = asyncio.Queue()
  local put_a = pq2:put("a")
  local put_b = pq2:put("b")
  await put_b
  await put_a
  print("pending puts", pq2:get_nowait(), pq2:get_nowait())
  return "main done"
end

print(asyncio.run(main))
