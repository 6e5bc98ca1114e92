-- Every asyncio awaitable and coroutine object that is never awaited or
-- scheduled warns on stderr, naming it and the line that made it, within a
-- pass or two of the mistake (the markers below show when). Awaiting it,
-- or handing it to something that awaits it, is never warned about.
local _ <close> = require "clean_loop"
local function mark(s) io.stderr:write(s, "\n") end
local q, lock, sem, ev = asyncio.Queue(), asyncio.Lock(), asyncio.Semaphore(2), asyncio.Event()
local async function work(x) return x end

async function mistakes()
  asyncio.sleep(1)
  asyncio.sleep(0)
  work(1)
  asyncio.gather(asyncio.create_task(work(2)))
  asyncio.wait_for(work(3), 1)
  await asyncio.sleep(0)
  await asyncio.sleep(0)
  mark("-- two passes later")
  q:put("lost")
  q:get()
  q:join()
  lock:acquire()
  sem:acquire()
  ev:wait()
  asyncio.wait_readable(0)
  await asyncio.sleep(0)
  await asyncio.sleep(0)
  mark("-- two passes later")
end

async function correct()
  await asyncio.sleep(0.001)
  await asyncio.sleep(0)
  print(await work(1))
  print((await asyncio.gather(work(2), asyncio.sleep(0, "s"))).n)
  -- a gather handed to a gather, in both forms
  print((await asyncio.gather({asyncio.gather(work(5)), work(6)})).n)
  print((await asyncio.gather(asyncio.gather(work(7)), work(8))).n)
  print(await asyncio.wait_for(q:put("x"), 1))
  print(await asyncio.wait_for(q:get(), 1))
  local _ <close> = await lock:acquire()
  ev:set()
  print(await ev:wait())
  -- the same operation handed out twice, awaited twice
  local g1, g2 = q:get(), q:get()
  q:put_nowait(1)
  q:put_nowait(2)
  print(g1 == g2, await g1, await g2)
  -- held for a pass before it is awaited
  local held, coro = sem:acquire(), work("held")
  await asyncio.sleep(0)
  print(await held, await coro)
  -- an await that fails (outside a task) counts: it was meant
  asyncio.get_running_loop():call_soon(function() pcall(asyncio.await, asyncio.sleep(0)) end)
  -- explicitly dropped
  work(4):close()
  await asyncio.sleep(0)
  await asyncio.sleep(0)
  mark("-- correct uses: nothing to report")
end

asyncio.run(mistakes)
asyncio.run(correct)
q:get()
mark("-- at exit:")
