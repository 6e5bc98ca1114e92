-- Under virtual time, work on worker threads is waited for in real time:
-- the clock does not run ahead to the next timer while a thread works, it
-- keeps pace with the real one, and timers due meanwhile fire on time.
local _ <close> = require "clean_loop"
local function fmt(t) return string.format("%.3f", t) end
-- While a thread works the clock follows the real one, so a task that
-- reads it after a timer fired may read a little later than the deadline
-- on a busy machine: true when t is that late at most (a margin shorter
-- than the work, so that a timer that waited for the work still fails),
-- else t.
local function on_time(t, deadline, margin) return t >= deadline and t < deadline + margin or t end

local function block(seconds)
  -- runs on a worker thread: a real-time wait
  os.execute("sleep " .. seconds)
  return "slept " .. seconds
end

asyncio.run(async function()
  local loop = asyncio.get_running_loop()
  local log = {}
  local function note(what) log[#log + 1] = {what, loop:time()} end

  local short = asyncio.create_task(async function()
    await asyncio.sleep(0.1)
    note("sleep 0.1")
  end)
  local long = asyncio.create_task(async function()
    await asyncio.sleep(30)
    note("sleep 30")
  end)
  local hour = asyncio.create_task(async function()
    await asyncio.sleep(3600)
    note("sleep 3600")
  end)
  -- made last: while its thread works the clock follows the real one, even
  -- within a pass, so sleeps started after it in the same pass would end a
  -- little after their delay on a slow machine (30.001)
  local thread = asyncio.create_task(async function()
    note(await asyncio.to_thread(block, 0.3))
  end)
  await asyncio.gather(thread, short, long, hour)
  for i, e in ipairs(log) do print(i, e[1]) end
  -- on time where a thread was at work, exact where none was
  print("sleep 0.1 read on time:", on_time(log[1][2], 0.1, 0.15))
  -- (generous bounds: a loaded machine may start the thread's process late,
  -- and timers that wake late read their exact deadline, so the clock may
  -- lag the real one by that lateness)
  print("thread finished after about its real 0.3 s and before 30 s:", log[2][2] >= 0.2 and log[2][2] < 30 or log[2][2])
  print("sleep 30 read", fmt(log[3][2]), "sleep 3600 read", fmt(log[4][2]))

  -- a timeout shorter than the thread's work fires on time
  local t = loop:time()
  local ok, err = pcall(function() return await asyncio.wait_for(asyncio.to_thread(block, 0.4), 0.05) end)
  print("wait_for 0.05 on a 0.4 s thread:", err.type, on_time(loop:time() - t, 0.05, 0.25))
  -- exact again afterwards (the abandoned thread is waited for first)
  t = loop:time()
  await asyncio.sleep(60)
  print("slept 60:", fmt(loop:time() - t))
end, {virtual_time = true})
