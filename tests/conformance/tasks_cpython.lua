-- Tasks, futures, gather, wait, wait_for, as_completed, shield, timeouts
-- and task groups, as CPython's own suite checks them: each block names the
-- test of Lib/test/test_asyncio it mirrors (test_tasks, test_futures,
-- test_waitfor, test_timeouts, test_taskgroups).
local _ <close> = require "clean_loop"
local function check(name, cond) print(name, cond and "ok" or "FAILED") end
local function iscancel(e) return asyncio.iserror(e, asyncio.CancelledError) end
local function istimeout(e) return asyncio.iserror(e, asyncio.TimeoutError) end

-- the sorted errors of an ExceptionGroup, as text
local function errors_of(eg)
  local s = {}
  for i, e in ipairs(eg.exceptions) do s[i] = tostring(e) end
  table.sort(s)
  return table.concat(s, ",")
end

local function tasks()
  -- test_tasks: test_cancel_at_end: a task cancelled after its last await
  -- ends cancelled, even though its body returned
  do
    local t
    t = asyncio.create_task(async function()
      t:cancel()
      return 12
    end)
    local ok, e = pcall(asyncio.await, t)
    check("cancel_at_end", not ok and iscancel(e) and t:cancelled() and t:cancel() == false)
  end

  -- test_tasks: test_cancel_awaited_task: a task with a cancel request it has
  -- not seen yet cancels the task it goes on to await (and so that one's
  -- future), instead of leaving it running
  do
    local fut = asyncio.Future()
    local nested, task
    task = asyncio.create_task(async function()
      nested = asyncio.create_task(async function() await fut end)
      await asyncio.sleep(0)
      task:cancel()
      await nested
    end)
    local ok = pcall(asyncio.await, task)
    check("cancel_awaited_task", not ok and task:cancelled() and nested:cancelled() and fut:cancelled())
  end

  -- test_tasks: test_uncancel_resets_must_cancel: uncancel() takes back a
  -- request the task has not seen; but a wait the request already ended
  -- stays ended (asyncio cancels the future the task waits on), so neither
  -- a sleep nor a lock wait carries on as if nothing happened
  do
    local f = asyncio.Future()
    local woken = asyncio.create_task(async function() await f; return 42 end)
    await asyncio.sleep(0)
    f:set_result()
    woken:cancel()
    local n = woken:cancelling()
    woken:uncancel()
    check("uncancel before the task saw it", n == 1 and await woken == 42)
    local sleeper = asyncio.create_task(async function() await asyncio.sleep(10) end)
    await asyncio.sleep(0)
    sleeper:cancel()
    sleeper:uncancel()
    local ok, e = pcall(asyncio.await, asyncio.wait_for(sleeper, 1))
    check("uncancel after the sleep was cancelled", not ok and iscancel(e) and sleeper:cancelled())
    local lock = asyncio.Lock()
    await lock:acquire()
    local waiter = asyncio.create_task(async function() await lock:acquire() end)
    await asyncio.sleep(0)
    waiter:cancel()
    waiter:uncancel()
    local ok2 = pcall(asyncio.await, asyncio.wait_for(waiter, 1))
    lock:release()
    check("uncancel after the lock wait was cancelled", not ok2 and waiter:cancelled() and not lock:locked())
  end

  -- Task.cancel: a request already thrown at a waiting task keeps its
  -- message when more requests follow before the task runs (asyncio's
  -- CancelledError is in flight); before that, the last message counts
  do
    local t = asyncio.create_task(async function() await asyncio.sleep(10) end)
    await asyncio.sleep(0)
    t:cancel("first")
    t:cancel()
    t:cancel("third")
    local _, e = pcall(asyncio.await, t)
    local u = asyncio.create_task(async function() await asyncio.sleep(10) end)
    u:cancel("first")
    u:cancel("second")
    local _, e2 = pcall(asyncio.await, u)
    check("message of a request in flight", tostring(e) == "CancelledError: first" and t:cancelling() == 3
      and tostring(e2) == "CancelledError: second")
  end

  -- test_tasks: test_baseexception_during_cancel: a task that raises another
  -- error while being cancelled fails with it, not cancelled
  do
    local t = asyncio.create_task(async function()
      pcall(asyncio.await, asyncio.sleep(10))
      error("cleanup failed", 0)
    end)
    await asyncio.sleep(0)
    t:cancel()
    await asyncio.wait({t})
    check("error during cancel", not t:cancelled() and t:exception() == "cleanup failed")
  end

  -- test_tasks: test_tb_logger_not_called_after_cancel, test_futures: the
  -- same: cancel() of a failed future or task, however late, counts as
  -- having dealt with its error (nothing "never retrieved" on stderr)
  do
    local f = asyncio.Future()
    f:set_exception("failed future")
    local t = asyncio.create_task(function() error("failed task", 0) end)
    await asyncio.sleep(0.01)
    check("cancel of failed ones", f:cancel() == false and t:cancel() == false)
    f, t = nil, nil
    collectgarbage()
    collectgarbage()
  end

  -- test_tasks: test_as_completed_with_timeout and others make tasks of
  -- asyncio.sleep(): create_task takes asyncio's own awaitables (a sleep,
  -- an operation), not only coroutine objects and functions
  do
    local q = asyncio.Queue()
    q:put_nowait("item")
    local a = asyncio.create_task(asyncio.sleep(0.01, "a"), {name = "sleeper"})
    local b = asyncio.create_task(q:get())
    check("create_task of a sleep and a q:get()", await a == "a" and await b == "item" and a:get_name() == "sleeper")
    check("create_task of a future refused", not pcall(asyncio.create_task, asyncio.Future()))
  end

  -- test_tasks: test_task_set_methods: a task's outcome is its body's;
  -- set_result and set_exception raise and leave the task as it was
  do
    local t = asyncio.create_task(async function() return "ko" end)
    local ok1, e1 = pcall(t.set_result, t, "ok")
    local ok2, e2 = pcall(t.set_exception, t, "boom")
    check("task set_result refused", not ok1 and tostring(e1):find("Task does not support set_result", 1, true)
      and not ok2 and tostring(e2):find("Task does not support set_exception", 1, true) and await t == "ko")
  end
end

local function futures()
  -- test_futures: test_cancel: a cancelled future raises CancelledError from
  -- result() and exception(), InvalidStateError from set_result and
  -- set_exception, and refuses a second cancel
  do
    local f = asyncio.Future()
    local function err(fn, ...)
      local ok, e = pcall(fn, ...)
      return not ok and asyncio.iserror(e) and e.type
    end
    check("cancelled future", f:cancel() and f:cancelled() and f:done() and err(f.result, f) == "CancelledError"
      and err(f.exception, f) == "CancelledError" and err(f.set_result, f, 1) == "InvalidStateError"
      and err(f.set_exception, f, "x") == "InvalidStateError" and f:cancel() == false)
  end

  -- test_futures: test_exception_class: set_exception with a class stores
  -- an error of that class
  do
    local f = asyncio.Future()
    f:set_exception(asyncio.TimeoutError)
    local e = f:exception()
    check("exception class", asyncio.iserror(e, asyncio.TimeoutError) and e ~= asyncio.TimeoutError)
  end

  -- test_futures: test_schedule_callbacks_list_mutation_1: once the future
  -- is done its callbacks are scheduled; removing one from another removes
  -- nothing, and it still runs
  do
    local f = asyncio.Future()
    local log = {}
    local second = function() log[#log + 1] = "second" end
    f:add_done_callback(function(x) log[#log + 1] = "first removed " .. x:remove_done_callback(second) end)
    f:add_done_callback(second)
    f:set_result(1)
    await asyncio.sleep(0)
    check("callbacks scheduled at completion", table.concat(log, ", ") == "first removed 0, second")
  end
end

local function gathers()
  -- test_tasks: test_cancel_gather_1: once every child is done, cancelling
  -- the gather (or the task awaiting it) is refused and the results stand
  do
    local fut = asyncio.Future()
    local gt = asyncio.ensure_future(asyncio.gather(async function() return await fut end))
    await asyncio.sleep(0)
    local refused
    fut:add_done_callback(function() refused = gt:cancel() end)
    fut:set_result(42)
    local r = await gt
    check("cancel_gather_1", refused == false and not gt:cancelled() and r[1] == 42)
  end

  -- test_tasks: test_cancel_gather_2: the message of a cancel request goes
  -- through a gather with return_exceptions to the task awaiting it
  do
    local qwe = asyncio.create_task(async function()
      while true do await asyncio.gather(asyncio.sleep(0.01), {return_exceptions = true}) end
    end)
    await asyncio.sleep(0.03)
    qwe:cancel("my message")
    local _, e = pcall(asyncio.await, qwe)
    local g = asyncio.gather(asyncio.sleep(10), asyncio.sleep(10), {return_exceptions = true})
    await asyncio.sleep(0)
    g:cancel("why")
    local _, e2 = pcall(asyncio.await, g)
    check("cancel_gather_2", tostring(e) == "CancelledError: my message" and qwe:cancelled()
      and tostring(e2) == "CancelledError: why")
  end

  -- test_tasks: test_duplicate_coroutines (gather), and
  -- test_wait_duplicate_coroutines, test_as_completed_duplicate_coroutines:
  -- the same coroutine object twice is one task; wait and as_completed take
  -- each awaitable once
  do
    local async function coro(s) return s end
    local c = coro("abc")
    local r = await asyncio.gather(c, c, coro("def"), c)
    local t = asyncio.create_task(coro("test"))
    local c2 = coro("x")
    local done, pending = await asyncio.wait({t, t, c2, c2, asyncio.create_task(coro("spam"))})
    local seen = {}
    local ham = coro("ham")
    for f in asyncio.as_completed({ham, ham, coro("spam")}) do seen[#seen + 1] = await f end
    table.sort(seen)
    check("duplicate awaitables", table.concat(r, ",") == "abc,abc,def,abc" and #done == 3 and #pending == 0
      and table.concat(seen, ",") == "ham,spam")
  end

  -- test_tasks: test_gather_shield: cancelling a gather of shields cancels
  -- the shields' futures, not what they shield
  do
    local c1, c2 = asyncio.Future(), asyncio.Future()
    local i1, i2 = asyncio.shield(c1), asyncio.shield(c2)
    local parent = asyncio.gather(i1, i2)
    await asyncio.sleep(0)
    parent:cancel()
    await asyncio.sleep(0)
    check("gather_shield", i1:cancelled() and i2:cancelled() and not c1:done() and not c2:done())
    c1:set_result(1)
    c2:set_result(2)
  end

  -- test_tasks: test_shield_gather: cancelling the shield of a gather
  -- leaves the gather running to its results
  do
    local c1, c2 = asyncio.Future(), asyncio.Future()
    local parent = asyncio.gather(c1, c2)
    local outer = asyncio.shield(parent)
    await asyncio.sleep(0)
    outer:cancel()
    await asyncio.sleep(0)
    c1:set_result(1)
    c2:set_result(2)
    local r = await parent
    check("shield_gather", outer:cancelled() and r[1] == 1 and r[2] == 2)
  end
end

local function waits()
  -- test_tasks: test_wait_really_done: FIRST_COMPLETED returns every task
  -- done by the time the waiting task runs again
  do
    local a = asyncio.create_task(async function() await asyncio.sleep(0) end)
    local b = asyncio.create_task(async function() await asyncio.sleep(0); await asyncio.sleep(0) end)
    local done, pending = await asyncio.wait({b, a}, {return_when = asyncio.FIRST_COMPLETED})
    check("wait_really_done", #done == 2 and #pending == 0)
  end

  -- wait(FIRST_EXCEPTION): a cancelled task is not a failure; the wait
  -- goes on past it (here to its timeout)
  do
    local a = asyncio.create_task(async function() await asyncio.sleep(10) end)
    local b = asyncio.create_task(async function() await asyncio.sleep(0.01) end)
    local c = asyncio.create_task(async function() await asyncio.sleep(10) end)
    asyncio.get_running_loop():call_soon(function() a:cancel() end)
    local done, pending = await asyncio.wait({a, b, c}, {return_when = asyncio.FIRST_EXCEPTION, timeout = 0.1})
    check("first_exception with a cancelled task", #done == 2 and done[1] == a and done[2] == b and pending[1] == c)
    c:cancel()
  end

  -- test_tasks: test_yield_wait_does_not_shield_cancel: cancelling the task
  -- in wait() ends the wait; what it waited for goes on
  do
    local waiter = asyncio.Future()
    local inner = asyncio.create_task(async function() await waiter; return "inner" end)
    local outer = asyncio.create_task(async function() await asyncio.wait({inner}) end)
    await asyncio.sleep(0)
    outer:cancel()
    local ok = pcall(asyncio.await, outer)
    waiter:set_result()
    check("wait does not shield", not ok and outer:cancelled() and await inner == "inner")
  end
end

local function wait_fors()
  -- test_waitfor: test_asyncio_wait_for_cancelled: cancelling wait_for waits
  -- for an inner coroutine that ignores cancellations to end
  do
    local exited = false
    local async function stubborn()
      local loop = asyncio.get_running_loop()
      local exit_at = loop:time() + 0.05
      while loop:time() < exit_at do pcall(asyncio.await, asyncio.sleep(exit_at - loop:time())) end
      exited = true
    end
    local w = asyncio.create_task(asyncio.wait_for(stubborn(), 5))
    await asyncio.sleep(0)
    w:cancel()
    await asyncio.wait({w})
    check("wait_for_cancelled", exited)
  end

  -- test_waitfor: test_wait_for_waits_for_task_cancellation: the timeout
  -- waits until the inner task has finished its cleanup
  do
    local cleaned = false
    local inner = asyncio.create_task(async function()
      local _, e = pcall(asyncio.await, asyncio.sleep(10))
      await asyncio.sleep(0.01)
      cleaned = true
      error(e, 0)
    end)
    local ok, e = pcall(asyncio.await, asyncio.wait_for(inner, 0.01))
    check("waits_for_task_cancellation", not ok and istimeout(e) and cleaned and inner:cancelled())
  end

  -- test_waitfor: test_wait_for_reraises_exception_during_cancellation
  do
    local inner = asyncio.create_task(async function()
      pcall(asyncio.await, asyncio.sleep(1))
      error("FooException", 0)
    end)
    local ok, e = pcall(asyncio.await, asyncio.wait_for(inner, 0.01))
    check("reraises_exception_during_cancellation", not ok and e == "FooException")
  end

  -- test_waitfor: test_wait_for_self_cancellation: a wait_for task cancelled
  -- before it starts leaves the inner task alone
  do
    local inner = asyncio.create_task(async function()
      if not pcall(asyncio.await, asyncio.sleep(0.03)) then await asyncio.sleep(0.03) end
      return 42
    end)
    local task = asyncio.create_task(asyncio.wait_for(inner, 0.01))
    task:cancel()
    local ok, e = pcall(asyncio.await, task)
    check("wait_for_self_cancellation", not ok and iscancel(e) and await inner == 42)
  end
end

local function timeouts()
  local loop = asyncio.get_running_loop()

  -- test_timeouts: test_nested_timeouts: two scopes with one deadline both
  -- expire; the inner one passes the CancelledError on, the outer one
  -- raises TimeoutError, and the task is left with no request
  do
    local cm1, cm2, inner_err
    local ok, e = pcall(function()
      local deadline = loop:time() + 0.01
      local c1 <close> = asyncio.timeout_at(deadline)
      cm1 = c1
      local _, e2 = pcall(function()
        local c2 <close> = asyncio.timeout_at(deadline)
        cm2 = c2
        await asyncio.sleep(10)
      end)
      inner_err = e2
      error(e2, 0)
    end)
    check("nested_timeouts", istimeout(e) and iscancel(inner_err) and cm1:expired() and cm2:expired()
      and asyncio.current_task():cancelling() == 0)
  end

  -- test_timeouts: test_nested_timeouts_loop_busy: both deadlines pass while
  -- the task holds the loop; the outer scope is the one that raises
  do
    local inner_err
    local ok, e = pcall(function()
      local _ <close> = asyncio.timeout(0.05)
      local _, e2 = pcall(function()
        local _ <close> = asyncio.timeout(0.01)
        local t0 = loop:time()
        while loop:time() - t0 < 0.1 do end
        await asyncio.sleep(1)
      end)
      inner_err = e2
      error(e2, 0)
    end)
    check("nested_timeouts_loop_busy", istimeout(e) and iscancel(inner_err))
  end

  -- test_timeouts: test_nested_timeout_in_finally: a scope made while the
  -- task is being cancelled still times out on its own
  do
    local inner_err
    local ok, e = pcall(function()
      local _ <close> = asyncio.timeout(0.01)
      local _, cancel = pcall(asyncio.await, asyncio.sleep(1))
      local _, e3 = pcall(function()
        local _ <close> = asyncio.timeout(0.01)
        await asyncio.sleep(10)
      end)
      inner_err = e3
      error(cancel, 0)
    end)
    check("nested_timeout_in_finally", istimeout(e) and istimeout(inner_err) and asyncio.current_task():cancelling() == 0)
  end

  -- test_timeouts: test_timeout_after_cancellation and
  -- test_cancel_in_timeout_after_cancellation: after a caught cancellation
  -- (not uncancelled), a scope still tells its own expiry from a new request
  do
    local t = asyncio.create_task(async function()
      pcall(function() asyncio.current_task():cancel(); await asyncio.sleep(1) end)
      local _, e1 = pcall(function()
        local _ <close> = asyncio.timeout(0)
        await asyncio.sleep(1)
      end)
      local _, e2 = pcall(function()
        local _ <close> = asyncio.timeout(1)
        asyncio.current_task():cancel()
        await asyncio.sleep(2)
      end)
      return istimeout(e1), iscancel(e2)
    end)
    local expired, cancelled = await t
    check("timeout_after_cancellation", expired and cancelled)
  end

  -- test_timeouts: test_timeout_zero_sleep_zero, test_timeout_in_the_past_sleep_zero
  do
    local results = {}
    for _, delay in ipairs({0, -11}) do
      local ok, e = pcall(function()
        local _ <close> = asyncio.timeout(delay)
        await asyncio.sleep(0)
      end)
      results[#results + 1] = istimeout(e)
    end
    check("timeout_zero_sleep_zero", results[1] and results[2])
  end

  -- test_timeouts: test_reschedule: moved, then taken away; a cancel from
  -- elsewhere then stays a CancelledError and the scope never expired
  do
    local fut = asyncio.Future()
    local deadline = loop:time() + 10
    local task = asyncio.create_task(async function()
      local cm <close> = asyncio.timeout_at(deadline)
      fut:set_result(cm)
      await asyncio.sleep(50)
    end)
    local cm = await fut
    local first = cm:when() == deadline
    cm:reschedule(deadline + 20)
    local moved = cm:when() == deadline + 20
    cm:reschedule(nil)
    local none = cm:when() == nil
    task:cancel()
    local ok, e = pcall(asyncio.await, task)
    check("reschedule", first and moved and none and iscancel(e) and not cm:expired())
  end

  -- test_timeouts: test_timeout_taskgroup: the scope expires while a group
  -- unwinds and a child fails in its cleanup: the ExceptionGroup passes the
  -- scope unchanged
  do
    local ok, e = pcall(function()
      local _ <close> = asyncio.timeout(0.01)
      local tg <close> = asyncio.TaskGroup()
      tg:create_task(async function()
        pcall(asyncio.await, asyncio.sleep(2))
        error("cleanup crash", 0)
      end)
      await asyncio.sleep(1)
    end)
    check("timeout_taskgroup", asyncio.iserror(e, asyncio.ExceptionGroup) and errors_of(e) == "cleanup crash"
      and asyncio.current_task():cancelling() == 0)
  end
end

local function taskgroups()
  -- test_taskgroups: test_taskgroup_03: a child cancelled on its own is no
  -- failure; the group goes on; test_taskgroup_task_name
  do
    local t1, t2
    do
      local g <close> = asyncio.TaskGroup()
      t1 = g:create_task(async function() await asyncio.sleep(1) end)
      await asyncio.sleep(0.01)
      t1:cancel()
      t2 = g:create_task(async function() await asyncio.sleep(0.01); return 11 end, {name = "yolo"})
    end
    check("taskgroup_03", t1:cancelled() and t2:result() == 11 and t2:get_name() == "yolo")
  end

  -- test_taskgroups: test_cancel_children_on_child_error: every child that
  -- fails is in the group, the others and the body are cancelled
  do
    local body_cancelled, sibling_cancelled = false, false
    local async function crash() await asyncio.sleep(0.01); error("ZeroDivisionError", 0) end
    local ok, e = pcall(function()
      local g <close> = asyncio.TaskGroup()
      g:create_task(crash()); g:create_task(crash()); g:create_task(crash())
      g:create_task(async function()
        local ok2, e2 = pcall(asyncio.await, asyncio.sleep(5))
        sibling_cancelled = iscancel(e2)
      end)
      local ok3, e3 = pcall(asyncio.await, asyncio.sleep(10))
      body_cancelled = iscancel(e3)
      error(e3, 0)
    end)
    check("cancel_children_on_child_error", #e.exceptions == 3 and errors_of(e) == "ZeroDivisionError,ZeroDivisionError,ZeroDivisionError"
      and body_cancelled and sibling_cancelled)
  end

  -- test_taskgroups: test_cancellation: the message of the request that
  -- cancels the task running the group comes out
  do
    local n = 0
    local r = asyncio.create_task(async function()
      local g <close> = asyncio.TaskGroup()
      for _ = 1, 5 do
        g:create_task(async function()
          local ok, e = pcall(asyncio.await, asyncio.sleep(5))
          if not ok then n = n + 1; error(e, 0) end
        end)
      end
    end)
    await asyncio.sleep(0.01)
    r:cancel("test")
    local _, e = pcall(asyncio.await, r)
    check("taskgroup cancellation message", tostring(e) == "CancelledError: test" and n == 5 and r:cancelled())
  end

  -- test_taskgroups: test_taskgroup_15 (as CPython has it now): a child
  -- fails while the cancelled body is still cleaning up: errors take
  -- priority over the cancellation
  do
    local r = asyncio.create_task(async function()
      local g <close> = asyncio.TaskGroup()
      g:create_task(async function() await asyncio.sleep(0.03); error("ZeroDivisionError", 0) end)
      local ok, e = pcall(asyncio.await, asyncio.sleep(10))
      if not ok then
        await asyncio.sleep(0.5)
        error(e, 0)
      end
    end)
    await asyncio.sleep(0.01)
    r:cancel()
    local _, e = pcall(asyncio.await, r)
    check("taskgroup_15", asyncio.iserror(e, asyncio.ExceptionGroup) and errors_of(e) == "ZeroDivisionError" and not r:cancelled())
  end

  -- a child that raises CancelledError itself is a cancelled child, no failure
  do
    local other
    local ok = pcall(function()
      local tg <close> = asyncio.TaskGroup()
      tg:create_task(async function() await asyncio.sleep(0); error(asyncio.CancelledError("mine"), 0) end)
      other = tg:create_task(async function() await asyncio.sleep(0.01); return "other" end)
    end)
    check("child raising CancelledError", ok and other:result() == "other")
  end

  -- test_taskgroups: test_error_and_cancel: the task is cancelled from
  -- outside while a child fails: the group raises the child's error, the
  -- task's cancelling() stays 1 and its next await is cancelled
  do
    local event = asyncio.Event()
    local log = {}
    local t = asyncio.create_task(async function()
      local ok, e = pcall(function()
        local tg <close> = asyncio.TaskGroup()
        tg:create_task(async function() event:set(); await asyncio.sleep(0); error("RuntimeError", 0) end)
        await asyncio.sleep(1)
        log[#log + 1] = "sleep in group not cancelled"
      end)
      log[#log + 1] = errors_of(e) .. " cancelling=" .. asyncio.current_task():cancelling()
      await asyncio.sleep(1)
      log[#log + 1] = "sleep after group not cancelled"
    end)
    await event:wait()
    t:cancel()
    local ok = pcall(asyncio.await, t)
    check("error_and_cancel", not ok and t:cancelled() and table.concat(log, "; ") == "RuntimeError cancelling=1")
  end

  -- test_taskgroups: test_nested_groups_both_cancelled: both groups' children
  -- fail at once; each group takes back its own request
  do
    local inner_errors, inner_level
    local ok, e = pcall(function()
      local outer <close> = asyncio.TaskGroup()
      local _, e2 = pcall(function()
        local inner <close> = asyncio.TaskGroup()
        inner:create_task(async function() await asyncio.sleep(0); error("RuntimeError", 0) end)
        outer:create_task(async function() await asyncio.sleep(0); error("ValueError", 0) end)
        await asyncio.sleep(1)
      end)
      inner_errors = errors_of(e2)
      inner_level = asyncio.current_task():cancelling()
    end)
    check("nested_groups_both_cancelled", inner_errors == "RuntimeError" and inner_level == 1 and errors_of(e) == "ValueError"
      and asyncio.current_task():cancelling() == 0)
  end

  -- tg:cancel() then a cancellation of the task while the scope waits for
  -- the children: the CancelledError goes on (CPython's TaskGroup keeps a
  -- cancellation that came while it waited and is not its own, gh-155433)
  do
    local t = asyncio.create_task(async function()
      do
        local tg <close> = asyncio.TaskGroup()
        tg:create_task(async function()
          pcall(asyncio.await, asyncio.sleep(10))
          await asyncio.sleep(0.05) -- slow to stop
        end)
        await asyncio.sleep(0)
        tg:cancel()
      end
      return "went on after the scope"
    end)
    await asyncio.sleep(0.02)
    t:cancel()
    local ok, e = pcall(asyncio.await, t)
    check("cancel while tg:cancel() waits", not ok and iscancel(e) and t:cancelled())
  end

  -- test_taskgroups: test_coro_closed_when_tg_closed and create_task while
  -- the group is shutting down: refused, and the coroutine object is closed
  -- (no "never awaited" warning)
  do
    local refused
    pcall(function()
      local tg <close> = asyncio.TaskGroup()
      tg:create_task(async function() error("boom", 0) end)
      pcall(asyncio.await, asyncio.sleep(1))
      refused = select(2, pcall(tg.create_task, tg, (async function() end)()))
    end)
    collectgarbage()
    collectgarbage()
    await asyncio.sleep(0)
    check("create_task while shutting down", refused == "this TaskGroup is shutting down")
  end

  -- a KeyboardInterrupt leaves the group bare; the children's errors that
  -- cannot go with it are reported to the exception handler (gh-135736)
  do
    local loop = asyncio.get_running_loop()
    local reported = {}
    loop:set_exception_handler(function(_, ctx) reported[#reported + 1] = tostring(ctx.exception) end)
    local ok, e = pcall(function()
      local g <close> = asyncio.TaskGroup()
      g:create_task(async function() await asyncio.sleep(0); error("ZeroDivisionError", 0) end)
      pcall(asyncio.await, asyncio.sleep(10))
      error(asyncio.KeyboardInterrupt(), 0)
    end)
    loop:set_exception_handler(nil)
    check("base error reports the others", asyncio.iserror(e, asyncio.KeyboardInterrupt)
      and table.concat(reported, ",") == "ZeroDivisionError" and asyncio.current_task():cancelling() == 0)
  end
end

async function main()
  tasks()
  futures()
  gathers()
  waits()
  wait_fors()
  timeouts()
  taskgroups()
end

asyncio.run(main)

-- test_waitfor, test_timeouts: an inner awaitable that would complete in
-- the same pass as the timeout fires loses to it (on virtual time, so that
-- the two really coincide)
asyncio.run(async function()
  local inner = asyncio.ensure_future(asyncio.sleep(0.1, "v"))
  local ok, e = pcall(asyncio.await, asyncio.wait_for(inner, 0.1))
  local loop = asyncio.get_running_loop()
  local fut = asyncio.Future()
  loop:call_later(0.1, function() fut:set_result("r") end)
  local ok2, e2 = pcall(asyncio.await, asyncio.wait_for(fut, 0.1))
  check("wait_for at the deadline", not ok and istimeout(e) and inner:cancelled() and not ok2 and istimeout(e2))
end, {virtual_time = true})

-- test_runners: asyncio.run of one of asyncio's own coroutines (a sleep, a
-- q:get()) runs it as the main task and returns its result
do
  local q = asyncio.Queue()
  q:put_nowait("item")
  check("run of a sleep and a q:get()", asyncio.run(asyncio.sleep(0.01, "slept")) == "slept"
    and asyncio.run(asyncio.sleep(5, "virtual"), {virtual_time = true}) == "virtual" and asyncio.run(q:get()) == "item")
end
