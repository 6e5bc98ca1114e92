-- Queue waiters and cancellation: a cancelled waiter is skipped, a waiter
-- woken and then cancelled before it runs passes its wake-up on, a woken
-- getter that lost its item keeps its turn, and nothing is ever lost.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"

local cancelled = require "cancelled"

async function main()
  local log = {}
  local getter = async function(q, name)
    local v = await q:get()
    log[#log + 1] = name .. "=" .. tostring(v)
    return v
  end
  local putter = async function(q, v)
    await q:put(v)
    log[#log + 1] = "put " .. v
  end

  -- a getter cancelled while parked is skipped
  do
    log = {}
    local q = asyncio.Queue()
    local g1 = asyncio.create_task(getter(q, "g1"))
    local g2 = asyncio.create_task(getter(q, "g2"))
    local g3 = asyncio.create_task(getter(q, "g3"))
    await asyncio.sleep(0)
    g2:cancel()
    await asyncio.sleep(0)
    print("after cancel", q)
    for i = 1, 3 do q:put_nowait(i) end
    await asyncio.gather(g1, g3)
    print("parked getter cancelled:", table.concat(log, " "), cancelled(g2), q:qsize())
  end

  -- a getter woken for an item and cancelled before it runs hands it on
  do
    log = {}
    local q = asyncio.Queue()
    local g1 = asyncio.create_task(getter(q, "g1"))
    local g2 = asyncio.create_task(getter(q, "g2"))
    await asyncio.sleep(0)
    q:put_nowait("x") -- wakes g1
    g1:cancel()       -- before g1 runs
    await g2
    print("woken getter cancelled:", table.concat(log, " "), cancelled(g1), q:qsize(), q)
  end

  -- two items, the first woken getter cancelled: both items still delivered
  do
    log = {}
    local q = asyncio.Queue()
    local gs = {}
    for i = 1, 3 do gs[i] = asyncio.create_task(getter(q, "g" .. i)) end
    await asyncio.sleep(0)
    q:put_nowait("a") -- wakes g1
    q:put_nowait("b") -- wakes g2
    gs[1]:cancel()
    await asyncio.gather(gs[2], gs[3])
    print("two items, one cancel:", table.concat(log, " "), cancelled(gs[1]), q:qsize())
  end

  -- a putter woken for a free slot and cancelled before it runs hands it on;
  -- its own item is never put
  do
    log = {}
    local q = asyncio.Queue(1)
    q:put_nowait("first")
    local p1 = asyncio.create_task(putter(q, "p1"))
    local p2 = asyncio.create_task(putter(q, "p2"))
    await asyncio.sleep(0)
    print(q)
    print("got", q:get_nowait()) -- wakes p1
    p1:cancel()
    await p2
    print("woken putter cancelled:", table.concat(log, " "), cancelled(p1), q:qsize(), q:get_nowait())
  end

  -- a parked putter cancelled: its item never enters the queue
  do
    log = {}
    local q = asyncio.Queue(1)
    q:put_nowait("first")
    local p1 = asyncio.create_task(putter(q, "p1"))
    await asyncio.sleep(0)
    p1:cancel()
    print("parked putter cancelled:", cancelled(p1), q:qsize(), q:get_nowait(), q:empty(), q)
  end

  -- a woken getter whose item another task took keeps its place in line
  do
    log = {}
    local q = asyncio.Queue()
    local g1 = asyncio.create_task(getter(q, "g1"))
    local g2 = asyncio.create_task(getter(q, "g2"))
    await asyncio.sleep(0)
    q:put_nowait("a")                 -- wakes g1
    print("stolen", q:get_nowait())   -- before g1 runs
    await asyncio.sleep(0)            -- g1 finds nothing, parks again first
    print(q)
    q:put_nowait("b")
    q:put_nowait("c")
    await asyncio.gather(g1, g2)
    print("order kept:", table.concat(log, " "))
  end

  -- a task cancelled while waiting in join leaves the others waiting
  do
    local q = asyncio.Queue()
    q:put_nowait(1)
    local joined = {}
    local j1 = asyncio.create_task(async function() await q:join(); joined[#joined + 1] = "j1" end)
    local j2 = asyncio.create_task(async function() await q:join(); joined[#joined + 1] = "j2" end)
    await asyncio.sleep(0)
    j1:cancel()
    await asyncio.sleep(0)
    q:get_nowait()
    q:task_done()
    await j2
    print("join:", cancelled(j1), table.concat(joined, " "))
  end

  -- a task that cancels itself does not wait at all
  do
    local q = asyncio.Queue()
    local t = asyncio.create_task(async function()
      asyncio.current_task():cancel()
      await q:get()
      return "not reached"
    end)
    print("self-cancelled get:", cancelled(t), q)
  end

  -- catching the cancellation and getting again works
  do
    local q = asyncio.Queue()
    local t = asyncio.create_task(async function()
      local ok, e = pcall(asyncio.await, q:get())
      assert(not ok and asyncio.iserror(e, asyncio.CancelledError))
      asyncio.current_task():uncancel()
      return await q:get()
    end)
    await asyncio.sleep(0)
    t:cancel()
    await asyncio.sleep(0)
    q:put_nowait("after")
    print("get after a caught cancel:", await t)
  end
end

asyncio.run(main)
