-- asyncio.timeout / timeout_at scopes and asyncio.wait_for.
local _ <close> = require "clean_loop"
local function check(name, cond) print(name, cond and "ok" or "FAILED") end

async function main()
  local loop = asyncio.get_running_loop()

  -- a scope that expires raises TimeoutError; its cleanup ran first
  do
    local cleaned = false
    local t0 = loop:time()
    local ok, e = pcall(function()
      local _ <close> = asyncio.timeout(0.02)
      local _c <close> = setmetatable({}, {__close = function() cleaned = true end})
      await asyncio.sleep(10)
    end)
    check("expired scope raises TimeoutError", not ok and asyncio.iserror(e, asyncio.TimeoutError) and cleaned)
    check("promptly", loop:time() - t0 < 2)
    check("task not left cancelling", asyncio.current_task():cancelling() == 0)
  end

  -- a scope that does not expire changes nothing
  do
    local tm
    local r = (function()
      local t <close> = asyncio.timeout(5)
      tm = t
      await asyncio.sleep(0.001)
      return "in time"
    end)()
    check("finished in time", r == "in time" and not tm:expired())
  end

  -- timeout 0 expires at the first await
  do
    local ok, e = pcall(function()
      local _ <close> = asyncio.timeout(0)
      await asyncio.sleep(1)
    end)
    check("timeout zero", not ok and asyncio.iserror(e, asyncio.TimeoutError))
  end

  -- a cancellation from elsewhere stays a CancelledError
  do
    local t = asyncio.create_task(async function()
      local _ <close> = asyncio.timeout(10)
      await asyncio.sleep(10)
    end)
    await asyncio.sleep(0.01)
    t:cancel()
    local ok, e = pcall(asyncio.await, t)
    check("foreign cancel not turned into timeout", not ok and asyncio.iserror(e, asyncio.CancelledError) and t:cancelled())
  end

  -- ... even when it arrives after the scope expired but before it is left
  do
    local t = asyncio.create_task(async function()
      local _ <close> = asyncio.timeout(0.01)
      pcall(asyncio.await, asyncio.sleep(10)) -- swallows the timeout's cancellation
      asyncio.current_task():cancel()          -- a second, foreign request
      await asyncio.sleep(0)
    end)
    local ok, e = pcall(asyncio.await, t)
    check("pending foreign cancel wins", not ok and asyncio.iserror(e, asyncio.CancelledError))
  end

  -- nested scopes: the inner one that expires raises; the outer sees it pass
  do
    local inner_expired, outer_expired
    local ok, e = pcall(function()
      local outer <close> = asyncio.timeout(5)
      local ok2, e2 = pcall(function()
        local inner <close> = asyncio.timeout(0.01)
        await asyncio.sleep(10)
      end)
      inner_expired = asyncio.iserror(e2, asyncio.TimeoutError)
      outer_expired = outer:expired()
      error(e2, 0)
    end)
    check("nested: inner expired", inner_expired and not outer_expired and asyncio.iserror(e, asyncio.TimeoutError))
    -- the outer one expiring while the inner has a later deadline
    local ok3, e3 = pcall(function()
      local outer <close> = asyncio.timeout(0.01)
      local inner <close> = asyncio.timeout(5)
      await asyncio.sleep(10)
    end)
    check("nested: outer expired", asyncio.iserror(e3, asyncio.TimeoutError))
  end

  -- reschedule, expired, when
  do
    local tm
    local ok, e = pcall(function()
      local t <close> = asyncio.timeout(nil)
      tm = t
      check("no deadline", t:when() == nil)
      t:reschedule(loop:time() + 0.01)
      await asyncio.sleep(10)
    end)
    check("rescheduled deadline fires", asyncio.iserror(e, asyncio.TimeoutError) and tm:expired())
    check("reschedule after exit refused", not pcall(tm.reschedule, tm, 1))
    local at_ok, at_e = pcall(function()
      local _ <close> = asyncio.timeout_at(loop:time() + 0.01)
      await asyncio.sleep(10)
    end)
    check("timeout_at", asyncio.iserror(at_e, asyncio.TimeoutError))
  end

  -- misuse
  check("NaN refused", not pcall(asyncio.timeout, 0 / 0))
  check("string refused", not pcall(asyncio.timeout, "1"))

  -- wait_for: value in time, TimeoutError otherwise (the inner is cancelled)
  do
    check("wait_for in time", await asyncio.wait_for(asyncio.sleep(0.001, "v"), 1) == "v")
    local inner = asyncio.create_task(async function() await asyncio.sleep(10) end)
    local ok, e = pcall(asyncio.await, asyncio.wait_for(inner, 0.01))
    check("wait_for timeout", not ok and asyncio.iserror(e, asyncio.TimeoutError) and inner:cancelled())
    check("wait_for nil timeout", await asyncio.wait_for(asyncio.sleep(0, 1, 2), nil) == 1)
  end

  -- wait_for returns the value when the inner awaitable swallows the cancellation
  do
    local stubborn = asyncio.create_task(async function()
      pcall(asyncio.await, asyncio.sleep(10))
      return "kept going"
    end)
    local r = await asyncio.wait_for(stubborn, 0.01)
    check("wait_for with suppressed cancellation", r == "kept going")
  end

  -- wait_for with timeout <= 0: done already -> result; else cancelled -> TimeoutError
  do
    local done = asyncio.create_task(function() return "early" end)
    await asyncio.sleep(0)
    check("wait_for 0 on a done task", await asyncio.wait_for(done, 0) == "early")
    local slow = asyncio.create_task(async function() await asyncio.sleep(10) end)
    local ok, e = pcall(asyncio.await, asyncio.wait_for(slow, 0))
    check("wait_for 0 cancels", not ok and asyncio.iserror(e, asyncio.TimeoutError) and slow:cancelled())
  end

  -- cancelling the task that runs wait_for cancels the inner and stays CancelledError
  do
    local inner = asyncio.create_task(async function() await asyncio.sleep(10) end)
    local outer = asyncio.create_task(async function() return await asyncio.wait_for(inner, 5) end)
    await asyncio.sleep(0.01)
    outer:cancel()
    local ok, e = pcall(asyncio.await, outer)
    check("outer cancel through wait_for", asyncio.iserror(e, asyncio.CancelledError) and inner:cancelled())
  end
end

asyncio.run(main)
local ok, e = pcall(asyncio.timeout, 1)
print("outside a task:", ok, e)
