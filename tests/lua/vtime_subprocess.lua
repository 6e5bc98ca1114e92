-- Under virtual time, a child process is waited for in real time: timers
-- due while it runs fire on time, later ones wait for it.
local _ <close> = require "clean_loop"
local function fmt(t) return string.format("%.3f", t) end
-- While a child runs the clock follows the real one, so a task that
-- reads it after a timer fired may read a little later than the deadline
-- on a busy machine: true when t is that late at most (a margin shorter
-- than the work, so that a timer that waited for the work still fails),
-- else t.
local function on_time(t, deadline, margin) return t >= deadline and t < deadline + margin or t end

asyncio.run(async function()
  local loop = asyncio.get_running_loop()
  local log = {}
  local function note(what) log[#log + 1] = {what, loop:time()} end

  local short = asyncio.create_task(async function()
    await asyncio.sleep(0.1)
    note("sleep 0.1")
  end)
  local long = asyncio.create_task(async function()
    await asyncio.sleep(600)
    note("sleep 600")
  end)
  -- the sleeps start before the child: while it runs the clock follows the
  -- real one, within a pass too, so a sleep started after it would end a
  -- little after its delay on a slow machine (600.001)
  await asyncio.sleep(0)
  local child = await asyncio.create_subprocess_exec("sleep", "0.3")
  local waiting = asyncio.create_task(async function()
    note("child exited " .. await child:wait())
  end)
  await asyncio.gather(waiting, short, long)
  for i, e in ipairs(log) do print(i, e[1]) end
  print("sleep 0.1 read on time:", on_time(log[1][2], 0.1, 0.15))
  print("child exited after its real 0.3 s:", log[2][2] >= 0.29 and log[2][2] < 600 or log[2][2])
  print("sleep 600 read", fmt(log[3][2]))

  -- output through a pipe, then the clock jumps again
  local echo = await asyncio.create_subprocess_exec("echo", "hello", {stdout = asyncio.PIPE})
  local out = await echo:communicate()
  print("communicate:", (out:gsub("\n", "")), echo.returncode)
  local t = loop:time()
  await asyncio.sleep(1800)
  print("slept 1800:", fmt(loop:time() - t))

  -- a timeout on a child that runs longer fires on time; then kill it
  local sleeper = await asyncio.create_subprocess_exec("sleep", "30")
  t = loop:time()
  local ok, err = pcall(function() return await asyncio.wait_for(sleeper:wait(), 0.2) end)
  print("wait_for 0.2 on a long child:", err.type, on_time(loop:time() - t, 0.2, 1))
  sleeper:kill()
  print("killed:", await sleeper:wait())
end, {virtual_time = true})
