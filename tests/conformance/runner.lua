-- asyncio.Runner (Python 3.11): several runs in one loop, made at the first
-- run; close() does what the end of asyncio.run does. Each block names the
-- test of CPython's test_runners.py (RunnerTests) it mirrors, or says what
-- it checks besides. The Ctrl+C cases run in a child process each, so that
-- every interrupt is a first one.
local _ <close> = require "clean_loop"

local function interrupter()
  local pid = io.popen("echo $PPID"):read("l")
  return function() io.popen("kill -INT " .. pid):close() end
end

local children = {}

-- test_interrupt_call_soon: a main task that never waits on anything but
-- sleep(0) is cancelled, and run raises KeyboardInterrupt
function children.interrupt_call_soon()
  local interrupt_self = interrupter()
  local runner <close> = asyncio.Runner()
  runner:get_loop():call_later(0.1, interrupt_self)
  print(pcall(runner.run, runner, async function()
    local ok, e = pcall(function() while true do await asyncio.sleep(0) end end)
    print("main saw:", e)
    error(e, 0)
  end))
end

-- test_interrupt_wait: interrupting a wait cancels the future waited for
-- and the main task
function children.interrupt_wait()
  local interrupt_self = interrupter()
  local runner <close> = asyncio.Runner()
  local fut = runner:get_loop():create_future()
  runner:get_loop():call_later(0.1, interrupt_self)
  print(pcall(runner.run, runner, async function()
    local ok, e = pcall(asyncio.await, fut)
    print("main saw:", e)
    error(e, 0)
  end))
  print("future cancelled:", fut:cancelled())
end

-- test_interrupt_cancelled_task: Ctrl+C of a main task already being
-- cancelled leaves its CancelledError
function children.interrupt_cancelled_task()
  local interrupt_self = interrupter()
  local runner <close> = asyncio.Runner()
  local ok, e = pcall(runner.run, runner, async function()
    local main = asyncio.current_task()
    asyncio.create_task(async function()
      await asyncio.sleep(0)
      main:cancel()
      interrupt_self()
    end)
    await asyncio.sleep(10)
  end)
  print(ok, tostring(e), asyncio.iserror(e, asyncio.KeyboardInterrupt))
end

-- the runner stays usable after a Ctrl+C, and its close still cancels what
-- is left
function children.interrupt_then_run()
  local interrupt_self = interrupter()
  local runner <close> = asyncio.Runner()
  runner:run(function()
    asyncio.create_task(async function()
      local _ <close> = setmetatable({}, {__close = function() print("background cleaned up") end})
      await asyncio.sleep(10)
    end)
  end)
  runner:get_loop():call_later(0.05, interrupt_self)
  print(pcall(runner.run, runner, asyncio.sleep(10)))
  print(runner:run(async function() return "ran again" end))
end

if arg[1] then
  children[arg[1]]()
  return
end

local function child(name)
  local f = io.popen(arg[-1] .. " " .. arg[0] .. " " .. name .. " 2>&1; echo status $?")
  io.write(name, ":\n", f:read("a"))
  f:close()
end

-- test_non_debug, test_debug (test_custom_factory: alua takes no loop
-- factory; its other loop option is virtual time)
do
  local runner <close> = asyncio.Runner({debug = false})
  print("debug:", runner:get_loop():get_debug())
  local r2 <close> = asyncio.Runner({debug = true})
  print("debug:", r2:get_loop():get_debug())
  local r3 <close> = asyncio.Runner({virtual_time = true})
  print("virtual time:", r3:get_loop():is_virtual_time(), r3:run(asyncio.sleep(3600, "instant")))
end
print(pcall(asyncio.Runner, {debg = true}))
print(pcall(asyncio.Runner, {virtual_time = 1}))

-- test_run
do
  local runner = asyncio.Runner()
  local loop
  do
    local r <close> = runner
    print(runner:run(async function()
      await asyncio.sleep(0)
      return "done"
    end))
    loop = runner:get_loop()
    print(runner)
  end
  print(pcall(runner.get_loop, runner))
  print("loop closed:", loop:is_closed(), runner)
end

-- test_run_non_coro
do
  local runner <close> = asyncio.Runner()
  print(pcall(runner.run, runner, 123))
  local sleep = asyncio.sleep(0, "slept")
  print(pcall(runner.run, runner, sleep, "extra"))
  print(runner:run(sleep))
end

-- test_run_future
do
  local runner <close> = asyncio.Runner()
  local fut = runner:get_loop():create_future()
  fut:set_result("done")
  print(runner:run(fut))
end

-- test_run_awaitable
do
  local MyAwaitable = {__await = function() return (async function() return "done" end)() end}
  local runner <close> = asyncio.Runner()
  print(runner:run(setmetatable({}, MyAwaitable)))
end

-- test_explicit_close, test_double_close
do
  local runner = asyncio.Runner()
  local l = runner:get_loop()
  runner:close()
  print(pcall(runner.get_loop, runner))
  print("loop closed:", l:is_closed())
  runner:close() -- the second call does nothing
  print("loop closed:", l:is_closed(), runner)
end

-- close after the loop was closed by hand: nothing left to shut down
do
  local runner = asyncio.Runner()
  runner:get_loop():close()
  runner:close()
  print("loop closed by hand first:", runner)
end

-- test_second_with_block_raises
do
  local ret = {}
  local f = async function(arg) ret[#ret + 1] = arg end
  local runner = asyncio.Runner()
  do
    local r <close> = runner
    runner:run(f, 1)
  end
  print(pcall(runner.run, runner, f, 2))
  print("ran:", table.concat(ret, ","))
end

-- test_recursive_run (with a function: a coroutine object would warn that
-- it was never awaited, as CPython's does)
do
  local runner <close> = asyncio.Runner()
  print(pcall(runner.run, runner, function()
    return runner:run(function() end)
  end))
end

-- test_set_event_loop_called_once: every run shares the one loop, which is
-- the default loop while the runner is open; close puts the previous one back
do
  local before = asyncio.get_event_loop()
  local runner <close> = asyncio.Runner()
  local first = runner:run(asyncio.get_running_loop)
  local second = runner:run(asyncio.get_running_loop)
  print("one loop:", first == second, first == runner:get_loop(), asyncio.get_event_loop() == first)
  runner:close()
  print("previous default back:", asyncio.get_event_loop() == before)
end

-- runners closed in another order than they were opened in: the default
-- loop before them comes back all the same
do
  local before = asyncio.get_event_loop()
  local a, b = asyncio.Runner(), asyncio.Runner()
  a:get_loop()
  b:get_loop()
  a:close()
  print("b's loop is the default:", asyncio.get_event_loop() == b:get_loop())
  b:close()
  print("previous default back:", asyncio.get_event_loop() == before)
end

-- test_no_repr_is_call_on_the_task_result
do
  local calls = 0
  local result = setmetatable({}, {__tostring = function() calls = calls + 1 return "MyResult" end})
  local runner <close> = asyncio.Runner()
  print(runner:run(function() return result end) == result, "tostring calls:", calls)
end

-- a task created in one run keeps running in the next; close cancels and
-- awaits what is left, reports its errors to the exception handler, and
-- runs what their ends queued, before the loop closes
do
  local runner <close> = asyncio.Runner()
  runner:get_loop():set_exception_handler(function(_, ctx)
    print("handler:", ctx.message, ctx.exception, ctx.task:get_name())
  end)
  local ticker = runner:run(function()
    return asyncio.create_task(async function()
      for i = 1, 3 do
        await asyncio.sleep(0.01)
        print("tick", i)
      end
      return "ticker done"
    end)
  end)
  print("between runs:", ticker:done())
  print(runner:run(ticker))
  runner:run(function()
    local t = asyncio.create_task(async function()
      local _ <close> = setmetatable({}, {__close = function() print("leftover cleaned up") end})
      await asyncio.sleep(10)
    end)
    t:add_done_callback(function() print("leftover's done callback") end)
    asyncio.create_task(async function()
      pcall(asyncio.await, asyncio.sleep(10))
      error("failed while cancelled", 0)
    end, {name = "stubborn"})
    await asyncio.sleep(0)
  end)
  print("before close")
end
print("after close")

-- asyncio.run is a runner's one run: from a running loop, each names itself
print(pcall(asyncio.run, function()
  return asyncio.run(function() end)
end))
do
  local runner <close> = asyncio.Runner()
  print(pcall(asyncio.run, function() return runner:get_loop(), runner:close() end))
end

-- a runner collected while open closes its loop
do
  local function dropped()
    local runner = asyncio.Runner()
    runner:run(async function()
      asyncio.create_task(async function()
        local _ <close> = setmetatable({}, {__close = function() print("cleaned up by the collector") end})
        await asyncio.sleep(10)
      end)
      await asyncio.sleep(0)
    end)
    return runner:get_loop()
  end
  local l = dropped()
  collectgarbage()
  collectgarbage()
  print("collected runner's loop closed:", l:is_closed())
end

child("interrupt_call_soon")
child("interrupt_wait")
child("interrupt_cancelled_task")
child("interrupt_then_run")
