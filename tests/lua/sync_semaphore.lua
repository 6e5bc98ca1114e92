-- Semaphore and BoundedSemaphore: a limit on concurrent holders, FIFO
-- hand-over, the <close> guard, over-release, and a randomized stress with
-- cancellations (fixed seed) after which every permit is back.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"

math.randomseed(99)

async function main()
  -- at most two at a time, served in arrival order
  do
    local sem = asyncio.Semaphore(2)
    local running, peak, order = 0, 0, {}
    local job = async function(name)
      local _ <close> = await sem:acquire()
      order[#order + 1] = name
      running = running + 1
      if running > peak then peak = running end
      await asyncio.sleep(0.001)
      running = running - 1
    end
    local ts = {}
    for i = 1, 6 do ts[i] = job("j" .. i) end
    await asyncio.gather(table.unpack(ts))
    print("limit:", peak, table.concat(order, " "), sem)
  end

  -- locked() and a semaphore that starts at zero
  do
    local sem = asyncio.Semaphore(0)
    print("zero:", sem:locked(), sem)
    local t = asyncio.create_task(async function()
      local g = await sem:acquire()
      return tostring(g)
    end)
    await asyncio.sleep(0)
    print("waiting:", sem)
    sem:release()
    print("released:", await t, sem:locked(), sem)
    -- a plain Semaphore may be released beyond its start value
    sem:release()
    sem:release()
    print("extra releases:", sem, sem:locked())
  end

  -- BoundedSemaphore refuses to go above its start value
  do
    local b = asyncio.BoundedSemaphore(2)
    print(b)
    local g1 = await b:acquire()
    await b:acquire()
    print("both taken:", b:locked(), b, g1)
    b:release()
    b:release()
    local ok, e = pcall(b.release, b)
    print("over-release:", ok, e, b)
    do
      local _ <close> = await b:acquire()
      print("in scope:", b)
    end
    print("after scope:", b)
  end

  -- a permit handed to a waiter that is cancelled before it runs goes on
  do
    local sem = asyncio.Semaphore(1)
    await sem:acquire()
    local got = {}
    local waiter = async function(name)
      local _ <close> = await sem:acquire()
      got[#got + 1] = name
    end
    local a = asyncio.create_task(waiter("a"))
    local b = asyncio.create_task(waiter("b"))
    await asyncio.sleep(0)
    sem:release() -- to a
    a:cancel()
    await b
    print("hand-over on cancel:", a:cancelled(), table.concat(got, " "), sem)
  end

  -- stress: random hold times and random cancellations
  do
    local limit = 3
    local sem = asyncio.BoundedSemaphore(limit)
    local holders, peak, finished, cancelled_n = 0, 0, 0, 0
    local hold = async function()
      local _ <close> = await sem:acquire()
      holders = holders + 1
      if holders > peak then peak = holders end
      local ok, e = pcall(asyncio.await, asyncio.sleep(math.random() < 0.5 and 0 or 0.0005))
      holders = holders - 1
      if not ok then error(e, 0) end
    end
    local worker = async function()
      for _ = 1, 5 do
        local ok, e = pcall(asyncio.await, hold())
        if not ok then
          assert(asyncio.iserror(e, asyncio.CancelledError), tostring(e))
          cancelled_n = cancelled_n + 1
          asyncio.current_task():uncancel()
        end
      end
      finished = finished + 1
    end
    local ts = {}
    for i = 1, 300 do ts[i] = asyncio.create_task(worker()) end
    local chaos = asyncio.create_task(async function()
      while finished < #ts do
        await asyncio.sleep(0)
        local t = ts[math.random(#ts)]
        if not t:done() then t:cancel() end
      end
    end)
    await asyncio.gather(table.unpack(ts))
    await chaos
    print("stress:", peak <= limit, finished, cancelled_n > 0, sem, sem:locked())
  end
end

asyncio.run(main)
