-- Task cancellation, as asyncio's test_tasks checks it.
local _ <close> = require "clean_loop"
local function check(name, cond) print(name, cond and "ok" or "FAILED") end

async function main()
  -- cancelling the inner future cancels the task
  do
    local f = asyncio.Future()
    local t = asyncio.create_task(async function() await f; return 12 end)
    await asyncio.sleep(0)
    f:cancel()
    local ok, e = pcall(asyncio.await, t)
    check("inner future cancelled -> task cancelled", not ok and asyncio.iserror(e, asyncio.CancelledError)
      and f:cancelled() and t:cancelled())
  end
  -- cancelling both the task and its inner future
  do
    local f = asyncio.Future()
    local t = asyncio.create_task(async function() await f; return 12 end)
    await asyncio.sleep(0)
    f:cancel()
    t:cancel()
    local ok = pcall(asyncio.await, t)
    check("task and inner future cancelled", not ok and t:done() and t:cancelled() and f:cancelled())
  end
  -- a task that catches the cancellation returns its value and is not cancelled
  do
    local f1, f2 = asyncio.Future(), asyncio.Future()
    local t = asyncio.create_task(async function()
      await f1
      local ok, e = pcall(asyncio.await, f2)
      if not ok and asyncio.iserror(e, asyncio.CancelledError) then return 42 end
    end)
    await asyncio.sleep(0)
    f1:set_result(nil)
    await asyncio.sleep(0)
    t:cancel()
    check("awaited future cancelled by task:cancel", f2:cancelled())
    check("catching task returns its value", await t == 42 and not t:cancelled())
  end
  -- a task that ignores the cancellation and goes on waiting
  do
    local f1, f2, f3 = asyncio.Future(), asyncio.Future(), asyncio.Future()
    local t = asyncio.create_task(async function()
      await f1
      pcall(asyncio.await, f2)
      return await f3
    end)
    await asyncio.sleep(0)
    f1:set_result()
    await asyncio.sleep(0)
    t:cancel()
    await asyncio.sleep(0)
    f3:set_result(42)
    check("ignoring task finishes normally", await t == 42 and not f3:cancelled() and not t:cancelled())
  end
  -- cancel with a message: the CancelledError carries it
  do
    local t = asyncio.create_task(async function() await asyncio.sleep(10) end)
    await asyncio.sleep(0)
    t:cancel("stop now")
    local ok, e = pcall(asyncio.await, t)
    check("message carried", not ok and e.message == "stop now" and tostring(e) == "CancelledError: stop now")
    local ok2, e2 = pcall(t.result, t)
    check("result() raises it too", not ok2 and e2.message == "stop now")
  end
  -- cancelling() and uncancel() count requests
  do
    local t = asyncio.create_task(async function() await asyncio.sleep(10) end)
    await asyncio.sleep(0)
    check("no request yet", t:cancelling() == 0)
    t:cancel(); t:cancel()
    check("two requests", t:cancelling() == 2)
    check("uncancel decrements", t:uncancel() == 1 and t:cancelling() == 1)
    pcall(asyncio.await, t)
    check("cancel of a done task is false", t:cancel() == false and t:cancelling() == 1)
  end
  -- a task that cancels itself is cancelled at its next await
  do
    local reached = false
    local t
    t = asyncio.create_task(async function()
      t:cancel()
      await asyncio.sleep(100)
      reached = true
    end)
    local ok = pcall(asyncio.await, t)
    check("self-cancel raises at the next await", not ok and t:cancelled() and not reached)
  end
  -- cancelled before its first step: the body never runs
  do
    local ran = false
    local t = asyncio.create_task(async function() ran = true end)
    t:cancel()
    pcall(asyncio.await, t)
    check("never started", t:cancelled() and not ran)
  end
  -- the CancelledError goes to the innermost await, through awaited
  -- coroutines and tasks; pcall handlers and <close> variables run on the way
  do
    local log = {}
    local async function leaf()
      local _ <close> = setmetatable({}, {__close = function() log[#log + 1] = "leaf closed" end})
      await asyncio.sleep(10)
    end
    local async function middle()
      local ok, e = pcall(asyncio.await, leaf())
      log[#log + 1] = "middle caught " .. tostring(e)
      error(e, 0)
    end
    local inner = asyncio.create_task(middle())
    local outer = asyncio.create_task(async function() return await inner end)
    await asyncio.sleep(0.01)
    outer:cancel("deep")
    pcall(asyncio.await, outer)
    print(table.concat(log, "; "))
    check("awaited task cancelled too", inner:cancelled() and outer:cancelled())
  end
end

asyncio.run(main)

-- cancellation takes the task off what it waits on at once: once the hour
-- long sleep is cancelled, nothing is left that could complete a new future,
-- and awaiting one fails at once instead of waiting an hour
local t = asyncio.create_task(async function() await asyncio.sleep(3600) end)
await asyncio.sleep(0)
t:cancel()
pcall(asyncio.await, t)
local ok, err = pcall(asyncio.await, asyncio.Future())
check("cancelled sleep left the timer heap", t:cancelled() and not ok and err:match("deadlock") ~= nil)
print("done")
