-- Lock: FIFO-fair acquisition, the <close> guard, mutual exclusion, and
-- cancellation around a hand-over never losing the lock.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"

local cancelled = require "cancelled"

-- at top level too
local top = asyncio.Lock()
do
  local g <close> = await top:acquire()
  print("top level", top:locked(), g, top)
end
print("after the scope", top:locked(), top)

async function main()
  -- three tasks acquiring twice each are served in arrival order
  do
    local lock = asyncio.Lock()
    local log = {}
    local worker = async function(name)
      for i = 1, 2 do
        local _ <close> = await lock:acquire()
        log[#log + 1] = name .. "_" .. i
        await asyncio.sleep(0)
      end
    end
    await asyncio.gather(worker("c1"), worker("c2"), worker("c3"))
    print("fifo:", table.concat(log, ", "))
  end

  -- mutual exclusion: the read-modify-write never interleaves
  do
    local lock = asyncio.Lock()
    local counter, inside, max_inside = 0, 0, 0
    local bump = async function()
      for _ = 1, 20 do
        local _ <close> = await lock:acquire()
        inside = inside + 1
        if inside > max_inside then max_inside = inside end
        local v = counter
        await asyncio.sleep(0)
        counter = v + 1
        inside = inside - 1
      end
    end
    local ts = {}
    for i = 1, 10 do ts[i] = bump() end
    await asyncio.gather(table.unpack(ts))
    print("exclusion:", counter, max_inside, lock)
  end

  -- an error inside the scope releases the lock on the way out
  do
    local lock = asyncio.Lock()
    local ok, e = pcall(asyncio.await, (async function()
      local _ <close> = await lock:acquire()
      error("boom", 0)
    end)())
    print("error in scope:", ok, e, lock:locked())
  end

  -- acquire and release by hand; locked() while others wait
  do
    local lock = asyncio.Lock()
    local g = await lock:acquire()
    local waiter = asyncio.create_task(async function()
      local _ <close> = await lock:acquire()
      return "waiter got it"
    end)
    await asyncio.sleep(0)
    print("held:", lock:locked(), lock)
    lock:release()
    print("handed over:", lock:locked(), await waiter, lock:locked(), tostring(g))
  end

  -- the waiter is cancelled and the holder releases in the same tick:
  -- cancel first, then release
  do
    local lock = asyncio.Lock()
    await lock:acquire()
    local b = asyncio.create_task(async function() await lock:acquire(); return "b" end)
    await asyncio.sleep(0)
    b:cancel()
    lock:release()
    print("cancel then release:", cancelled(b), lock:locked())
    local c = asyncio.create_task(async function()
      local _ <close> = await lock:acquire()
      return "c acquired"
    end)
    print(await c, lock:locked())
  end

  -- release first (the lock goes to the waiter), then cancel the waiter
  -- before it runs: the lock passes on to the next waiter
  do
    local lock = asyncio.Lock()
    await lock:acquire()
    local got = {}
    local waiter = async function(name)
      local _ <close> = await lock:acquire()
      got[#got + 1] = name
      await asyncio.sleep(0)
    end
    local b = asyncio.create_task(waiter("b"))
    local c = asyncio.create_task(waiter("c"))
    await asyncio.sleep(0)
    lock:release() -- hands the lock to b
    b:cancel()     -- before b runs
    await c
    print("release then cancel:", cancelled(b), table.concat(got, " "), lock:locked())
  end

  -- the same with nobody else waiting: the lock becomes free
  do
    local lock = asyncio.Lock()
    await lock:acquire()
    local b = asyncio.create_task(async function() await lock:acquire() end)
    await asyncio.sleep(0)
    lock:release()
    b:cancel()
    print("release then cancel, no one else:", cancelled(b), lock:locked(), lock)
    local _ <close> = await lock:acquire()
    print("acquired again", lock:locked())
  end

  -- many waiters, every other one cancelled after the hand-over started
  do
    local lock = asyncio.Lock()
    local order = {}
    local ts = {}
    await lock:acquire()
    for i = 1, 8 do
      ts[i] = asyncio.create_task(async function()
        local _ <close> = await lock:acquire()
        order[#order + 1] = i
      end)
    end
    await asyncio.sleep(0)
    lock:release()
    for i = 1, 8, 2 do ts[i]:cancel() end
    ts[#ts + 1] = {return_exceptions = true}
    await asyncio.gather(table.unpack(ts))
    print("survivors in order:", table.concat(order, " "), lock:locked(), lock)
  end
end

asyncio.run(main)
