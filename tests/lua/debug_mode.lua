-- Debug mode: warnings for callbacks and task steps that hold the loop for
-- 100 ms or longer, and creation sites in task descriptions, handles and
-- never-awaited warnings. The warnings go to stderr with a duration that
-- varies, so the test runs its scenarios in a child process and shows its
-- output with the durations checked and hidden. A warning is kept only if it
-- points at a line tagged --[[slow]] (where a slow step can be): on a loaded
-- machine any step may happen to take 100 ms.
local _ <close> = require "clean_loop"
local scenario = arg[1]

local function busy(seconds) --[[slow]]
  local stop = os.clock() + seconds
  while os.clock() < stop do end
end

if scenario == nil then
  local tagged, n = {}, 0
  for line in io.lines(arg[0]) do
    n = n + 1
    if line:find("--[[slow]]", 1, true) then tagged[n] = true end
  end
  local function keep(warning)
    for num in warning:gmatch("debug_mode%.lua:(%d+)") do
      if tagged[tonumber(num)] then return warning end
    end
    return ""
  end
  local function child(env, name)
    local cmd = string.format("%s'%s' debug_mode.lua %s 2>&1", env, arg[-1], name)
    local out = io.popen(cmd):read("a")
    out = out:gsub("took (%d+%.%d+) seconds", function(s)
      return tonumber(s) >= 0.1 and "took (>= 0.1) seconds" or "took (too short: " .. s .. ") seconds"
    end):gsub("when=[%d.]+", "when=N"):gsub("Executing [^\n]*\n", keep)
    io.write("== ", name, "\n", out)
  end
  child("", "run_option")
  child("", "plain")
  child("", "set_debug")
  child("ALUA_DEBUG=1 ", "environment")
  return
end

io.stdout:setvbuf("no") -- keep stdout and stderr in order

local async function main()
  local loop = asyncio.get_running_loop()
  print("get_debug:", loop:get_debug())
  busy(0.15) -- one slow step of the main task
  await asyncio.sleep(0) --[[slow]]
  loop:call_soon(busy, 0.15) -- a slow callback
  local f = loop:create_future()
  f:add_done_callback(function() busy(0.12) end) -- a slow done callback --[[slow]]
  f:set_result(1)
  await asyncio.sleep(0)
  await asyncio.sleep(0)
  await asyncio.sleep(0.01) -- fast steps: no warning
  local t = asyncio.create_task(async function() await asyncio.sleep(1) end, {name = "sleeper"})
  await asyncio.sleep(0)
  print(t)
  local h = loop:call_later(1, print); print(h); h:cancel()
  t:cancel()
  local lost = (async function() end)() -- a coroutine object nobody awaits
  lost = nil
  collectgarbage()
  collectgarbage()
end

if scenario == "run_option" then
  asyncio.run(main, {debug = true})
  local other = asyncio.new_event_loop(); print(other:get_debug()); other:close()
elseif scenario == "plain" then
  asyncio.run(main)
elseif scenario == "set_debug" then
  local loop = asyncio.new_event_loop()
  print("default:", loop:get_debug())
  loop:set_debug(true)
  loop:run_until_complete(async function()
    busy(0.12)
    await asyncio.sleep(0) --[[slow]]
  end)
  loop:set_debug(false)
  loop:run_until_complete(async function()
    busy(0.12)
    await asyncio.sleep(0) --[[slow]]
  end)
  print("after:", loop:get_debug())
  loop:close()
  -- run's arguments stay main's: only a trailing {debug = ...} is the option table
  asyncio.run(function(a, b) print("args:", a, b.debug, b.x) end, 1, {debug = true, x = 2})
  asyncio.run(function(...) print("args:", select("#", ...), ...) end, "a", {debug = false})
elseif scenario == "environment" then
  local other = asyncio.new_event_loop(); print("new loops:", other:get_debug()); other:close()
  asyncio.run(async function()
    busy(0.12)
    await asyncio.sleep(0) --[[slow]]
  end)
  asyncio.run(async function()
    print("switched off:", asyncio.get_running_loop():get_debug())
    busy(0.12)
    await asyncio.sleep(0) --[[slow]]
  end, {debug = false})
end
