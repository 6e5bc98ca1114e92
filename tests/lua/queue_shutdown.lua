-- Queue shutdown: puts raise QueueShutDown at once, gets once the queue is
-- empty; parked getters and putters wake to see it; shutdown(true) empties
-- the queue and releases join.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"

local function outcome(t)
  local ok, e = pcall(asyncio.await, t)
  if ok then return "ok " .. tostring(e) end
  return tostring(asyncio.iserror(e) and e.type or e)
end

async function main()
  -- plain shutdown: items already in the queue can still be taken
  do
    local q = asyncio.Queue()
    q:put_nowait(1)
    q:put_nowait(2)
    q:shutdown()
    print(q)
    local ok, e = pcall(q.put_nowait, q, 3)
    print("put_nowait:", ok, e.type)
    ok, e = pcall(asyncio.await, q:put(3))
    print("put:", ok, e.type)
    print("get:", await q:get(), q:get_nowait())
    ok, e = pcall(asyncio.await, q:get())
    print("get on empty:", ok, e.type)
    ok, e = pcall(q.get_nowait, q)
    print("get_nowait on empty:", ok, e.type)
  end

  -- parked getters and putters are woken
  do
    local q = asyncio.Queue()
    local g1 = asyncio.create_task(async function() return await q:get() end)
    local g2 = asyncio.create_task(async function() return await q:get() end)
    local b = asyncio.Queue(1)
    b:put_nowait("full")
    local p = asyncio.create_task(async function() await b:put("more") end)
    await asyncio.sleep(0)
    print(q, b)
    q:put_nowait("last")
    q:shutdown()
    b:shutdown()
    print("getters:", outcome(g1), outcome(g2))
    print("putter:", outcome(p), b:get_nowait(), b:empty())
  end

  -- shutdown(true) drops the items and releases join
  do
    local q = asyncio.Queue()
    for i = 1, 5 do q:put_nowait(i) end
    local joined = false
    local j = asyncio.create_task(async function() await q:join(); joined = true end)
    await asyncio.sleep(0)
    print("joining", joined, q)
    q:shutdown(true)
    await j
    print("joined", joined, q)
    local ok, e = pcall(q.task_done, q)
    print("task_done after:", ok, e)
  end

  -- shutdown(true) with items being processed: join waits for them
  do
    local q = asyncio.Queue()
    for i = 1, 3 do q:put_nowait(i) end
    q:get_nowait()
    q:get_nowait()
    local joined = false
    local j = asyncio.create_task(async function() await q:join(); joined = true end)
    q:shutdown(true)
    await asyncio.sleep(0)
    print("still two in progress", joined, q)
    q:task_done()
    await asyncio.sleep(0)
    print("one left", joined)
    q:task_done()
    await j
    print("all done", joined)
  end

  -- a consumer loop ends cleanly on shutdown
  do
    local q = asyncio.Queue(2)
    local seen = {}
    local consumer = asyncio.create_task(async function()
      while true do
        local ok, v = pcall(asyncio.await, q:get())
        if not ok then
          if asyncio.iserror(v, asyncio.QueueShutDown) then return "stopped" end
          error(v, 0)
        end
        seen[#seen + 1] = v
        q:task_done()
      end
    end)
    for i = 1, 5 do await q:put(i) end
    await q:join()
    q:shutdown()
    print("consumer:", await consumer, table.concat(seen, " "))
  end
end

asyncio.run(main)
