-- asyncio.TaskGroup as a <close> scope.
local _ <close> = require "clean_loop"
local log = {}
local function say(s) log[#log + 1] = s end

async function work(name, delay, fail)
  local ok, e = pcall(asyncio.await, asyncio.sleep(delay))
  if not ok then say(name .. " cancelled"); error(e, 0) end
  if fail then say(name .. " fails"); error(name .. " failed", 0) end
  say(name .. " done")
  return name
end

async function main()
  -- leaving the scope waits for every child
  do
    local a, b
    do
      local tg <close> = asyncio.TaskGroup()
      a = tg:create_task(work("a", 0.02))
      b = tg:create_task(work("b", 0.01))
      say("body end")
    end
    say("after scope: " .. a:result() .. " " .. b:result())
    print(table.concat(log, ", ")); log = {}
  end

  -- the first child failure cancels the siblings and the body; the scope
  -- raises an ExceptionGroup with every failure
  do
    local ok, eg = pcall(function()
      local tg <close> = asyncio.TaskGroup()
      tg:create_task(work("slow", 1))
      tg:create_task(work("bad", 0.01, true))
      local ok2, e = pcall(asyncio.await, asyncio.sleep(1))
      say("body got " .. tostring(e))
      error(e, 0)
    end)
    print(table.concat(log, ", ")); log = {}
    print(ok, asyncio.iserror(eg, asyncio.ExceptionGroup), tostring(eg))
    print(#eg.exceptions, eg.exceptions[1])
    -- the task itself is not left cancelled
    print("cancelling after group:", asyncio.current_task():cancelling())
  end

  -- the body's own error cancels the children, and errors they raise while
  -- being cancelled join it in the group
  do
    local ok, eg = pcall(function()
      local tg <close> = asyncio.TaskGroup()
      for _, name in ipairs({"x", "y"}) do
        tg:create_task(async function()
          pcall(asyncio.await, asyncio.sleep(1))
          error(name .. " failed", 0)
        end)
      end
      await asyncio.sleep(0)
      error("body failed", 0)
    end)
    table.sort(eg.exceptions)
    print(#eg.exceptions, table.concat(eg.exceptions, " | "))
    log = {}
  end

  -- nested groups: the inner group's ExceptionGroup fails the outer child
  do
    local ok, eg = pcall(function()
      local outer <close> = asyncio.TaskGroup()
      outer:create_task(async function()
        local inner <close> = asyncio.TaskGroup()
        inner:create_task(work("deep", 0, true))
        await asyncio.sleep(1)
      end)
      outer:create_task(work("sibling", 1))
    end)
    print(tostring(eg), tostring(eg.exceptions[1]), eg.exceptions[1].exceptions[1])
    print(table.concat(log, ", ")); log = {}
  end

  -- create_task on a finished group is an error
  do
    local tg
    do
      local g <close> = asyncio.TaskGroup()
      tg = g
    end
    local c = work("late", 0)
    print(pcall(tg.create_task, tg, c))
    c:close()
  end

  -- tg:cancel() stops the children without an error
  do
    local child
    do
      local tg <close> = asyncio.TaskGroup()
      child = tg:create_task(work("cancelled child", 5))
      await asyncio.sleep(0)
      tg:cancel()
    end
    print("after tg:cancel()", child:cancelled(), table.concat(log, ", ")); log = {}
  end

  -- a KeyboardInterrupt in a child passes through bare
  do
    local ok, e = pcall(function()
      local tg <close> = asyncio.TaskGroup()
      tg:create_task(async function() error(asyncio.KeyboardInterrupt(), 0) end)
      tg:create_task(work("other", 1))
    end)
    print(asyncio.iserror(e, asyncio.KeyboardInterrupt), tostring(e))
    log = {}
  end

  -- cancelling the task that runs the group cancels the children; the
  -- CancelledError goes on
  do
    local t = asyncio.create_task(async function()
      local tg <close> = asyncio.TaskGroup()
      tg:create_task(work("child of cancelled", 5))
      await asyncio.sleep(5)
    end)
    await asyncio.sleep(0.01)
    t:cancel()
    local ok, e = pcall(asyncio.await, t)
    print(ok, tostring(e), t:cancelled(), table.concat(log, ", ")); log = {}
  end
end

asyncio.run(main)
