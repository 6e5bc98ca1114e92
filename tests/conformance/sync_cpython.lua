-- Locks, events, conditions, semaphores, barriers and queues, as asyncio's
-- test_locks and test_queues check them. Each block names the test it
-- mirrors; `async with` is a <close> guard, and Barrier's reset and abort
-- are not awaited (docs/sync.md).
local _ <close> = require "clean_loop"

local function list(t)
  local s = {}
  for i, v in ipairs(t) do s[i] = tostring(v) end
  return "[" .. table.concat(s, ", ") .. "]"
end

local function outcome(t)
  local ok, e = pcall(asyncio.await, t)
  if ok then return "ok" end
  return asyncio.iserror(e) and e.type or tostring(e)
end

async function main()
  -- LockTests.test_cancel_race: A holds the lock, B and C wait; B is
  -- cancelled as A releases. The lock goes to C, and is not locked() until
  -- C runs.
  do
    local lock = asyncio.Lock()
    local function lockit(blocker)
      return async function()
        local _ <close> = await lock:acquire()
        if blocker then await blocker end
      end
    end
    local fa = asyncio.get_running_loop():create_future()
    local ta = asyncio.create_task(lockit(fa)())
    await asyncio.sleep(0)
    local tb = asyncio.create_task(lockit()())
    await asyncio.sleep(0)
    local tc = asyncio.create_task(lockit()())
    await asyncio.sleep(0)
    print("cancel_race: waiting", lock)
    fa:set_result(nil)
    tb:cancel()
    await asyncio.sleep(0)
    print("cancel_race:", lock:locked(), ta:done(), tb:cancelled(), tc:done())
    await tc
    print("cancel_race: C done", lock:locked())
  end

  -- LockTests.test_release_not_acquired, while the lock is handed over: a
  -- second release raises instead of freeing the lock under its new holder.
  do
    local lock = asyncio.Lock()
    await lock:acquire()
    local holders, most = 0, 0
    local function holder(name)
      return async function()
        local _ <close> = await lock:acquire()
        holders = holders + 1
        most = math.max(most, holders)
        await asyncio.sleep(0)
        holders = holders - 1
        return name
      end
    end
    local b = asyncio.create_task(holder("b")())
    await asyncio.sleep(0)
    lock:release()
    print("handed over:", lock:locked(), lock, pcall(lock.release, lock))
    local c = asyncio.create_task(holder("c")())
    print("handed over:", await b, await c, "most holders at once:", most)
  end

  -- EventTests.test_wait: set() wakes the parked waiters after a waiter that
  -- had not started yet.
  do
    local ev = asyncio.Event()
    local result = {}
    local function c(i) return async function() if await ev:wait() then result[#result + 1] = i end end end
    local t1, t2 = asyncio.create_task(c(1)()), asyncio.create_task(c(2)())
    await asyncio.sleep(0)
    local t3 = asyncio.create_task(c(3)())
    ev:set()
    await asyncio.sleep(0)
    print("event wait:", list(result), t1:done(), t2:done(), t3:done())
  end

  -- ConditionTests.test_wait: a notified waiter runs only once the notifier
  -- releases, and each release lets the next notified waiter take the lock.
  do
    local cond = asyncio.Condition()
    local result = {}
    local function c(i)
      return async function()
        await cond:acquire()
        if await cond:wait() then result[#result + 1] = i end
      end
    end
    local ts = {asyncio.create_task(c(1)()), asyncio.create_task(c(2)()), asyncio.create_task(c(3)())}
    await asyncio.sleep(0)
    local steps = {}
    local function step() steps[#steps + 1] = list(result) .. (cond:locked() and " locked" or " unlocked") end
    step()
    await cond:acquire()
    cond:notify()
    await asyncio.sleep(0)
    step()
    cond:release()
    await asyncio.sleep(0)
    step()
    cond:notify(2)
    await asyncio.sleep(0)
    step()
    cond:release()
    await asyncio.sleep(0)
    step()
    cond:release()
    await asyncio.sleep(0)
    step()
    print("condition wait:", table.concat(steps, " | "))
    cond:release()
    await asyncio.gather(table.unpack(ts))
  end

  -- ConditionTests.test_wait_for_unacquired: a predicate already true needs
  -- no lock; one that is false raises, since wait_for would have to wait.
  do
    local cond = asyncio.Condition()
    print("wait_for unacquired:", await cond:wait_for(function() return 123 end),
      pcall(function() return await cond:wait_for(function() return false end) end))
  end

  -- ConditionTests.test_cancelled_error_re_aquire: a task notified, then
  -- cancelled while it takes the lock back, raises that same CancelledError
  -- once it holds the lock again.
  do
    local cond = asyncio.Condition()
    local wake, raised, held = false, nil, nil
    local task = asyncio.create_task(async function()
      local _ <close> = await cond:acquire()
      local ok, e = pcall(asyncio.await, cond:wait_for(function() return wake end))
      raised, held = e, cond:locked()
      error(e, 0)
    end)
    await asyncio.sleep(0)
    await cond:acquire()
    wake = true
    cond:notify()
    await asyncio.sleep(0)
    task:cancel("foo")
    cond:release()
    local ok, e = pcall(asyncio.await, task)
    print("cancelled re-acquire:", ok, tostring(e), e == raised, held, cond:locked())
  end

  -- ConditionTests.test_cancelled_wakeup_relock: a consumer notified and
  -- cancelled while it waits for the lock passes the notification on: the
  -- other consumer takes the item.
  do
    local cond = asyncio.Condition()
    local state = 0
    local consumer = async function()
      local _ <close> = await cond:acquire()
      while true do
        await cond:wait_for(function() return state ~= 0 end)
        if state < 0 then return end
        state = state - 1
      end
    end
    local c = {asyncio.create_task(consumer()), asyncio.create_task(consumer())}
    await asyncio.sleep(0)
    do
      local _ <close> = await cond:acquire()
      state = state + 1
      cond:notify(1)
      await asyncio.sleep(0)
      c[1]:cancel()
      pcall(function()
        local _ <close> = asyncio.timeout(0.01)
        await cond:wait_for(function() return state == 0 end)
      end)
      print("cancelled wakeup relock: items left", state)
      state = -1
      cond:notify_all()
    end
    print("cancelled wakeup relock:", outcome(c[1]), outcome(c[2]))
  end

  -- ConditionTests.test_timeout_in_block: wait_for(cond:wait(), t) times out
  -- with the lock held again.
  do
    local cond = asyncio.Condition()
    local _ <close> = await cond:acquire()
    local ok, e = pcall(asyncio.await, asyncio.wait_for(cond:wait(), 0.01))
    print("timeout in block:", ok, e.type, cond:locked(), cond)
  end

  -- SemaphoreTests.test_acquire_fifo_order_2: a task that releases and
  -- acquires again queues behind the task already handed a permit.
  do
    local sem = asyncio.Semaphore(1)
    local result = {}
    local function add(i) result[#result + 1] = i end
    local t1 = asyncio.create_task(async function() await sem:acquire(); add(1) end)
    local t2 = asyncio.create_task(async function()
      await sem:acquire(); add(2)
      sem:release()
      await sem:acquire(); add(4)
    end)
    local t3 = asyncio.create_task(async function() await sem:acquire(); add(3) end)
    await asyncio.sleep(0)
    sem:release()
    sem:release()
    await asyncio.gather(t1, t2, t3)
    print("semaphore fifo 2:", list(result), sem)
  end

  -- SemaphoreTests.test_acquire_fifo_order_4: while a woken task has not run,
  -- the semaphore is locked() even with permits free, newcomers queue, and
  -- the woken task hands the free permits on in order when it runs.
  do
    local sem = asyncio.Semaphore(0)
    local result = {}
    local notes = {}
    local t4
    local t1 = asyncio.create_task(async function()
      await sem:acquire()
      notes[#notes + 1] = "c1 runs: " .. tostring(sem)
      t4 = asyncio.create_task(async function() result[#result + 1] = 4 end)
      result[#result + 1] = 1
    end)
    local t2 = asyncio.create_task(async function()
      sem:release()
      sem:release()
      sem:release()
      notes[#notes + 1] = "c2 released: " .. tostring(sem) .. " locked " .. tostring(sem:locked())
      await sem:acquire()
      result[#result + 1] = 2
    end)
    local t3 = asyncio.create_task(async function()
      await sem:acquire()
      result[#result + 1] = 3
    end)
    await asyncio.sleep(0)
    notes[#notes + 1] = "between: " .. tostring(sem)
    await asyncio.sleep(0)
    await asyncio.gather(t1, t2, t3, t4)
    print("semaphore fifo 4:", table.concat(notes, "; "))
    print("semaphore fifo 4:", list(result), sem)
  end

  -- BarrierTests.test_draining_state: the tasks let through see the barrier
  -- draining, except the last one out.
  do
    local barrier = asyncio.Barrier(5)
    local results = {}
    local ts = {}
    for i = 1, 5 do
      ts[i] = asyncio.create_task(async function()
        await barrier:wait()
        results[#results + 1] = tostring(barrier):find("draining") ~= nil
      end)
    end
    await asyncio.gather(table.unpack(ts))
    print("draining:", list(results), barrier)
  end

  -- BarrierTests.test_blocking_tasks_while_draining: a task that waits again
  -- while the others are still leaving blocks until the round has drained.
  do
    local barrier = asyncio.Barrier(5)
    local nowaiting = asyncio.Barrier(3)
    local rewait = 2
    local ts = {}
    for i = 1, 5 do
      ts[i] = asyncio.create_task(async function()
        await barrier:wait()
        if rewait > 0 then
          rewait = rewait - 1
          await barrier:wait()
        else
          await nowaiting:wait()
          await barrier:wait()
        end
      end)
    end
    await asyncio.gather(table.unpack(ts))
    print("blocking while draining:", barrier, nowaiting)
  end

  -- BarrierTests.test_reset_barrier_while_tasks_draining: the last task out
  -- resets the barrier; the tasks already waiting again are not broken, and
  -- every task passes a final round.
  do
    local barrier = asyncio.Barrier(5)
    local second_ok, second_failed, final, count = 0, 0, 0, 0
    local ts = {}
    for i = 1, 5 do
      ts[i] = asyncio.create_task(async function()
        await barrier:wait()
        count = count + 1
        if count == 5 then
          barrier:reset()
          await barrier:wait()
        elseif pcall(asyncio.await, barrier:wait()) then
          second_ok = second_ok + 1
        else
          second_failed = second_failed + 1
        end
        await barrier:wait()
        final = final + 1
      end)
    end
    await asyncio.gather(table.unpack(ts))
    print("reset while draining:", second_ok, second_failed, final, barrier)
  end

  -- BarrierTests.test_abort_barrier_when_tasks_half_draining_half_blocking:
  -- tasks still leaving the round and tasks blocked until it drains all get
  -- BrokenBarrierError when one aborts.
  do
    local barrier = asyncio.Barrier(5)
    local draining, blocked, count = 0, 0, 0
    local ts = {}
    for i = 1, 5 do
      ts[i] = asyncio.create_task(async function()
        if not pcall(asyncio.await, barrier:wait()) then
          draining = draining + 1
          return
        end
        count = count + 1
        if count > 2 then
          barrier:abort()
        else
          local ok, e = pcall(asyncio.await, barrier:wait())
          if not ok and asyncio.iserror(e, asyncio.BrokenBarrierError) then blocked = blocked + 1 end
        end
      end)
    end
    await asyncio.gather(table.unpack(ts))
    print("abort half draining:", draining, blocked, barrier.broken, barrier)
  end

  -- QueueShutdownTests.test_shutdown_nonempty: a plain shutdown wakes the
  -- putter of a full queue with QueueShutDown, leaves the item to get, and
  -- join waits for its task_done.
  do
    local q = asyncio.Queue(1)
    q:put_nowait("data")
    local join_task = asyncio.create_task(async function() await q:join() end)
    local put_task = asyncio.create_task(async function() await q:put("data2") end)
    await asyncio.sleep(0)
    q:shutdown()
    await asyncio.sleep(0)
    print("shutdown nonempty:", put_task:done(), outcome(put_task), q:qsize(), await q:get())
    await asyncio.sleep(0)
    local joined_early = join_task:done()
    q:task_done()
    await asyncio.sleep(0)
    print("shutdown nonempty:", joined_early, join_task:done(), pcall(q.task_done, q))
  end
end

asyncio.run(main)
