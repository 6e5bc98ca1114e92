-- Queue, LifoQueue and PriorityQueue as asyncio's test_queues checks them:
-- order, maxsize, full and empty, the nowait calls, task_done and join,
-- shutdown, and getters and putters cancelled around a wake-up. Each block
-- names the test it mirrors; test_shutdown_nonempty for Queue is in
-- sync_cpython. Not mirrored: test_generic_alias (a Python typing feature)
-- and test_format's setting of the private _unfinished_tasks (the join
-- blocks reach the same state with puts and gets). test_get_with_putters
-- plants a future in the private _putters; its block uses a real putter.
-- Differences, each noted at its block: tostring's form, an integer
-- maxsize, and task_done's underflow is a plain error, not a ValueError.
local _ <close> = require "clean_loop"

local function list(t)
  local s = {}
  for i, v in ipairs(t) do s[i] = tostring(v) end
  return "[" .. table.concat(s, ", ") .. "]"
end

-- "ok" and the results of awaiting aw, or the error's type (or text).
local function outcome(aw)
  local r = table.pack(pcall(asyncio.await, aw))
  if r[1] then return "ok " .. list(table.pack(table.unpack(r, 2, r.n))) end
  local e = r[2]
  return asyncio.iserror(e) and e.type or tostring(e)
end

-- The error type (or text) a plain call raises, or "ok".
local function raises(fn, ...)
  local ok, e = pcall(fn, ...)
  if ok then return "ok" end
  return asyncio.iserror(e) and e.type or tostring(e)
end

local kinds = {"Queue", "LifoQueue", "PriorityQueue"}

async function main()
  -- QueueBasicTests.test_repr / test_str: tostring starts with the class
  -- name and counts a waiting getter, then a waiting putter. alua's form is
  -- <Queue maxsize=.. qsize=..>: it shows no id and not the items (CPython
  -- shows _queue=[1]), and getters=1 for _getters[1].
  do
    local q = asyncio.Queue()
    print("repr:", q)
    do
      local tg <close> = asyncio.TaskGroup()
      local getter = tg:create_task(q:get())
      await asyncio.sleep(0)
      print("repr getter:", q)
      q:put_nowait(0)
    end
    print("repr getter done:", q)
    q = asyncio.Queue(1)
    local putter
    do
      local tg <close> = asyncio.TaskGroup()
      q:put_nowait(1)
      putter = tg:create_task(q:put(2))
      await asyncio.sleep(0)
      print("repr putter:", q)
      q:get_nowait()
    end
    print("repr putter done:", putter:done(), q)
    q = asyncio.Queue()
    q:put_nowait(1)
    print("repr item:", q)
  end

  -- QueueBasicTests.test_empty, test_full, test_order.
  do
    local q = asyncio.Queue()
    local e1 = q:empty()
    await q:put(1)
    local e2 = q:empty()
    local got = await q:get()
    print("empty:", e1, e2, got, q:empty())
    local full0 = asyncio.Queue():full()
    q = asyncio.Queue(1)
    await q:put(1)
    print("full:", full0, q:full())
    q = asyncio.Queue()
    for _, i in ipairs({1, 3, 2}) do await q:put(i) end
    local items = {}
    for i = 1, 3 do items[i] = await q:get() end
    print("order:", list(items))
  end

  -- QueueBasicTests.test_maxsize: a putter of 3 items into a queue of 2
  -- blocks after two, and the third goes in on the next turn once one is
  -- taken.
  do
    local q = asyncio.Queue(2)
    local have_been_put = {}
    local t = asyncio.create_task(async function()
      for i = 0, 2 do
        await q:put(i)
        have_been_put[#have_been_put + 1] = i
      end
      return true
    end)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    local blocked = list(have_been_put)
    local first = await q:get()
    await asyncio.sleep(0)
    print("maxsize:", q.maxsize, blocked, first, list(have_been_put), await q:get(), await q:get(),
      t:done(), t:result())
  end

  -- QueueGetTests.test_blocking_get, test_nonblocking_get,
  -- test_nonblocking_get_exception.
  do
    local q = asyncio.Queue()
    q:put_nowait(1)
    local blocking = await q:get()
    q:put_nowait(1)
    print("get:", blocking, q:get_nowait(), raises(q.get_nowait, q))
  end

  -- QueueGetTests.test_blocking_get_wait: a getter waits until a timer puts.
  do
    local q = asyncio.Queue()
    local started = asyncio.Event()
    local finished = false
    local t = asyncio.create_task(async function()
      started:set()
      local res = await q:get()
      finished = true
      return res
    end)
    await started:wait()
    local early = finished
    asyncio.get_running_loop():call_later(0.01, q.put_nowait, q, 1)
    local res = await t
    print("blocking get wait:", early, finished, res)
  end

  -- QueueGetTests.test_get_cancelled_race: of two getters the first is
  -- cancelled; the item put afterwards goes to the second.
  do
    local q = asyncio.Queue()
    local t1 = asyncio.create_task(q:get())
    local t2 = asyncio.create_task(q:get())
    await asyncio.sleep(0)
    t1:cancel()
    await asyncio.sleep(0)
    local done1 = t1:done()
    await q:put("a")
    await asyncio.sleep(0)
    print("get cancelled race:", done1, outcome(t1), await t2, q)
  end

  -- QueueGetTests.test_get_with_waiting_putters: two putters of a queue of
  -- 1 are served in order by gets that wait for them.
  do
    local q = asyncio.Queue(1)
    asyncio.create_task(q:put("a"))
    asyncio.create_task(q:put("b"))
    print("get with waiting putters:", await q:get(), await q:get(), q)
  end

  -- QueueGetTests.test_get_with_putters, with a parked putter instead of a
  -- future planted in _putters: a get from a full queue returns the item and
  -- wakes the putter, whose item goes in.
  do
    local q = asyncio.Queue(1)
    await q:put(1)
    local putter = asyncio.create_task(q:put(2))
    await asyncio.sleep(0)
    local got = await q:get()
    await asyncio.sleep(0)
    print("get with putters:", got, putter:done(), outcome(putter), q:get_nowait())
  end

  -- QueueGetTests.test_why_are_getters_waiting: a producer and a consumer
  -- of 5 items through a queue of 1 both finish.
  do
    local q = asyncio.Queue(1)
    local got = {}
    do
      local tg <close> = asyncio.TaskGroup()
      tg:create_task(async function() for i = 0, 4 do await q:put(i) end end)
      tg:create_task(async function() for i = 1, 5 do got[i] = await q:get() end end)
    end
    print("why are getters waiting:", list(got), q)
  end

  -- QueueGetTests.test_cancelled_getters_not_being_held_in_self_getters: a
  -- get that times out leaves no getter behind.
  do
    local q = asyncio.Queue(5)
    print("timed out getter:", outcome(asyncio.wait_for(q:get(), 0.01)), q)
  end

  -- QueuePutTests.test_blocking_put, test_nonblocking_put,
  -- test_nonblocking_put_exception.
  do
    local q = asyncio.Queue()
    await q:put(1)
    local got = await q:get()
    q:put_nowait(1)
    local got2 = q:get_nowait()
    local q1 = asyncio.Queue(1)
    q1:put_nowait(1)
    print("put:", got, got2, raises(q1.put_nowait, q1, 2), q1)
  end

  -- QueuePutTests.test_blocking_put_wait: the second put into a queue of 1
  -- waits until a timer takes the first item.
  do
    local q = asyncio.Queue(1)
    local started = asyncio.Event()
    local finished = false
    asyncio.get_running_loop():call_later(0.01, q.get_nowait, q)
    local t = asyncio.create_task(async function()
      started:set()
      await q:put(1)
      await q:put(2)
      finished = true
    end)
    await started:wait()
    local early = finished
    await t
    print("blocking put wait:", early, finished, q:get_nowait())
  end

  -- QueuePutTests.test_get_cancel_drop_one_pending_reader: a getter woken
  -- by the first of two puts and cancelled before it runs takes nothing:
  -- the retry gets 1, not 2.
  do
    local q = asyncio.Queue()
    local reader = asyncio.create_task(q:get())
    await asyncio.sleep(0)
    q:put_nowait(1)
    q:put_nowait(2)
    reader:cancel()
    local first = outcome(reader)
    reader = asyncio.create_task(q:get())
    print("cancel drop one reader:", first, await reader, q)
  end

  -- QueuePutTests.test_get_cancel_drop_many_pending_readers: of three
  -- getters, the first is cancelled after two puts; the other two get both
  -- items (here in the order they waited).
  do
    local q = asyncio.Queue()
    local r1, r2, r3
    local first
    do
      local tg <close> = asyncio.TaskGroup()
      r1 = tg:create_task(q:get())
      r2 = tg:create_task(q:get())
      r3 = tg:create_task(q:get())
      await asyncio.sleep(0)
      q:put_nowait(1)
      q:put_nowait(2)
      r1:cancel()
      first = outcome(r1)
      await r3
    end
    print("cancel drop many readers:", first, r2:result(), r3:result(), q)
  end

  -- QueuePutTests.test_put_cancel_drop: a putter woken by a get and
  -- cancelled before it runs has put nothing; its retry puts 2.
  do
    local q = asyncio.Queue(1)
    q:put_nowait(1)
    local writer = asyncio.create_task(q:put(2))
    await asyncio.sleep(0)
    local v1 = q:get_nowait()
    writer:cancel()
    local first = outcome(writer)
    local size = q:qsize()
    writer = asyncio.create_task(q:put(2))
    await writer
    print("put cancel drop:", v1, first, size, q:get_nowait(), q:qsize())
  end

  -- QueuePutTests.test_float_maxsize: alua takes only an integer maxsize
  -- (docs/sync.md), so 1.3 raises; CPython's 1.3 acts as 2, mirrored with 2.
  do
    print("float maxsize:", pcall(asyncio.Queue, 1.3))
    local q = asyncio.Queue(2)
    q:put_nowait(1)
    q:put_nowait(2)
    local full1, err = q:full(), raises(q.put_nowait, q, 3)
    q = asyncio.Queue(2)
    await q:put(1)
    await q:put(2)
    print("float maxsize:", full1, err, q:full())
  end

  -- QueuePutTests.test_put_cancelled: a put into an unbounded queue is done
  -- by the time the get that needed it returns.
  do
    local q = asyncio.Queue()
    local t = asyncio.create_task(async function()
      await q:put(1)
      return true
    end)
    print("put cancelled:", await q:get(), t:done(), t:result())
  end

  -- QueuePutTests.test_put_cancelled_race: of two putters waiting on a queue
  -- of 1, the second is cancelled; the first still puts once there is room.
  do
    local q = asyncio.Queue(1)
    local put_a = asyncio.create_task(q:put("a"))
    local put_b = asyncio.create_task(q:put("b"))
    local put_c = asyncio.create_task(q:put("X"))
    await asyncio.sleep(0)
    local a_done, b_done = put_a:done(), put_b:done()
    put_c:cancel()
    await asyncio.sleep(0)
    local c_done = put_c:done()
    local first = q:get_nowait()
    await asyncio.sleep(0)
    print("put cancelled race:", a_done, b_done, c_done, outcome(put_c), first, q:get_nowait(),
      outcome(put_b), q)
  end

  -- QueuePutTests.test_put_with_waiting_getters: a put hands its item to
  -- the getter waiting.
  do
    local q = asyncio.Queue()
    local t = asyncio.create_task(q:get())
    await asyncio.sleep(0)
    await q:put("a")
    print("put with waiting getters:", await t)
  end

  -- QueuePutTests.test_why_are_putters_waiting: four putters into a queue
  -- of 2 and one getter that empties it once all finish.
  do
    local q = asyncio.Queue(2)
    local taken = {}
    do
      local tg <close> = asyncio.TaskGroup()
      tg:create_task(async function()
        await asyncio.sleep(0)
        for _ = 1, q:qsize() do taken[#taken + 1] = q:get_nowait() end
      end)
      for i = 0, 3 do tg:create_task(q:put(i)) end
    end
    print("why are putters waiting:", list(taken), q)
  end

  -- QueuePutTests.test_cancelled_puts_not_being_held_in_self_putters: a
  -- cancelled putter leaves the line.
  do
    local q = asyncio.Queue(1)
    q:put_nowait(1)
    local t = asyncio.create_task(q:put(1))
    await asyncio.sleep(0)
    local before = tostring(q)
    t:cancel()
    print("cancelled putter leaves:", before, outcome(t), q)
  end

  -- QueuePutTests.test_cancelled_put_silence_value_error_exception: a putter
  -- woken by get_nowait and then cancelled raises CancelledError (and its
  -- item is not put).
  do
    local q = asyncio.Queue(1)
    q:put_nowait(1)
    local t = asyncio.create_task(q:put(1))
    await asyncio.sleep(0)
    q:get_nowait()
    t:cancel()
    print("woken putter cancelled:", outcome(t), q)
  end

  -- LifoQueueTests.test_order, PriorityQueueTests.test_order.
  for _, kind in ipairs({"LifoQueue", "PriorityQueue"}) do
    local q = asyncio[kind]()
    for _, i in ipairs({1, 3, 2}) do await q:put(i) end
    local items = {}
    for i = 1, 3 do items[i] = await q:get() end
    print(kind .. " order:", list(items))
  end

  -- _QueueJoinTestMixin, for each kind: test_task_done_underflow (a plain
  -- error with CPython's message, as alua has no ValueError),
  -- test_task_done (two workers sum 0..99; join returns once all are marked
  -- done), test_join_empty_queue, test_format (alua's tostring shows
  -- unfinished=2 where CPython's _format shows tasks=2).
  for _, kind in ipairs(kinds) do
    local q = asyncio[kind]()
    local underflow = raises(q.task_done, q)
    for i = 0, 99 do q:put_nowait(i) end
    local acc, running = 0, true
    local joined
    do
      local tg <close> = asyncio.TaskGroup()
      for _ = 1, 2 do
        tg:create_task(async function()
          while running do
            acc = acc + await q:get()
            q:task_done()
          end
        end)
      end
      await q:join()
      joined = acc
      running = false
      for _ = 1, 2 do q:put_nowait(0) end
    end
    local e = asyncio[kind]()
    await e:join()
    await e:join()
    local fmt = tostring(e)
    e:put_nowait(1)
    e:put_nowait(2)
    e:get_nowait()
    e:get_nowait()
    print(kind .. " join:", underflow, joined, fmt, e)
  end

  -- _QueueShutdownTestMixin, for each kind.
  for _, kind in ipairs(kinds) do
    local Q = asyncio[kind]
    local function closed(q)
      return raises(function() await q:put("data") end) .. " " .. raises(q.put_nowait, q, "data") .. " "
        .. raises(function() return await q:get() end) .. " " .. raises(q.get_nowait, q)
    end

    -- test_format: tostring ends in "shutdown".
    do
      local q = Q()
      q:shutdown()
      print(kind .. " shutdown format:", q)
    end

    -- test_shutdown_empty: a waiting getter raises QueueShutDown, join
    -- returns, and every put and get raises.
    do
      local q = Q()
      local get_task = asyncio.create_task(q:get())
      await asyncio.sleep(0)
      q:shutdown(false)
      local size = q:qsize()
      await q:join()
      await asyncio.sleep(0)
      print(kind .. " shutdown empty:", size, get_task:done(), outcome(get_task), closed(q))
    end

    -- test_shutdown_nonempty (for Queue in sync_cpython).
    if kind ~= "Queue" then
      local q = Q(1)
      q:put_nowait("data")
      local join_task = asyncio.create_task(q:join())
      local put_task = asyncio.create_task(q:put("data2"))
      await asyncio.sleep(0)
      local put_early = put_task:done()
      q:shutdown(false)
      local size = q:qsize()
      await asyncio.sleep(0)
      local put_out = put_task:done() and outcome(put_task)
      local got = await q:get()
      await asyncio.sleep(0)
      local join_early = join_task:done()
      local c = closed(q)
      q:task_done()
      await asyncio.sleep(0)
      print(kind .. " shutdown nonempty:", put_early, size, put_out, got, join_early, c,
        join_task:done(), outcome(join_task), raises(q.task_done, q))
    end

    -- test_shutdown_immediate: the item is dropped and counted done, so join
    -- returns.
    do
      local q = Q()
      q:put_nowait("data")
      local join_task = asyncio.create_task(q:join())
      q:shutdown(true)
      local size = q:qsize()
      await asyncio.sleep(0)
      print(kind .. " shutdown immediate:", size, join_task:done(), outcome(join_task), closed(q),
        raises(q.task_done, q))
    end

    -- test_shutdown_immediate_with_unfinished: of two items one was taken;
    -- join waits for its task_done.
    do
      local q = Q()
      q:put_nowait("data")
      q:put_nowait("data")
      local join_task = asyncio.create_task(q:join())
      local got = await q:get()
      q:shutdown(true)
      local size = q:qsize()
      await asyncio.sleep(0)
      local join_early = join_task:done()
      local c = closed(q)
      local td1 = raises(q.task_done, q)
      local td2 = raises(q.task_done, q)
      await asyncio.sleep(0)
      print(kind .. " shutdown immediate unfinished:", got, size, join_early, c, td1, td2,
        join_task:done(), outcome(join_task))
    end
  end
end

asyncio.run(main)
