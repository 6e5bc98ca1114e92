-- Task creation order, names, tostring, states, current_task, all_tasks.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"
local A, await = asyncio.async, asyncio.await

local log = {}
local step = A(function(name, n)
  for i = 1, n do
    log[#log + 1] = name .. i
    await(asyncio.sleep(0))
  end
  return name
end, "step")

local main = A(function()
  local me = asyncio.current_task()
  print("current", me:get_name(), me == asyncio.current_task())
  -- tasks start in creation order, at the next loop pass, and interleave
  local a = asyncio.create_task(step("a", 3))
  local b = asyncio.create_task(step("b", 2), {name = "bee"})
  local c = asyncio.create_task(function(x, y) return x + y end, 20, 22)
  print(#log, a:done(), b:get_name())
  print(tostring(b):match("^<Task pending name='bee' coro=<step%(%) running at tasks.lua:%d+>>$") ~= nil)
  print(#asyncio.all_tasks())
  await(asyncio.gather(a, b, c))
  print(table.concat(log, " "))
  print(a, b)
  print(c, c:result())
  b:set_name("renamed")
  print(b:get_name(), a:get_name())
  print(#asyncio.all_tasks())
  -- a failing task
  local bad = asyncio.create_task(function() error("bad thing", 0) end, {name = "bad"})
  await(asyncio.sleep(0))
  print(bad:done(), bad:cancelled(), bad:exception())
  print(pcall(bad.result, bad))
  print(bad)
  -- get_coro
  local co = step("z", 0)
  local z = asyncio.create_task(co)
  print(z:get_coro() == co, select(2, pcall(asyncio.create_task, co)))
  await(z)
  -- cancelling a task before its first step: the body never runs
  local ran = false
  local early = asyncio.create_task(function() ran = true end)
  print(early:cancel(), early:cancelling())
  await(asyncio.sleep(0))
  print(early:cancelled(), ran, early)
  print(early:cancel())
  -- an option table with a non-string name is refused
  print(pcall(asyncio.create_task, function() end, {name = 1}))
  print(pcall(asyncio.create_task, 42))
  -- many tasks: threads of finished tasks are reused
  for round = 1, 3 do
    local ts = {}
    for i = 1, 200 do ts[i] = asyncio.create_task(step("r", 1)) end
    await(asyncio.gather(table.unpack(ts)))
  end
  print("rounds done")
  -- all_tasks lists in creation order, also when new tasks take the places
  -- in the loop that finished ones held
  local ev = asyncio.Event()
  local function waiter() await(ev:wait()) end
  local w1 = asyncio.create_task(waiter, {name = "w1"})
  local quick = {}
  for i = 1, 3 do quick[i] = asyncio.create_task(function() end) end
  local w2 = asyncio.create_task(waiter, {name = "w2"})
  await(asyncio.gather(table.unpack(quick)))
  local w3 = asyncio.create_task(waiter, {name = "w3"})
  local w4 = asyncio.create_task(waiter, {name = "w4"})
  local names = {}
  for _, t in ipairs(asyncio.all_tasks()) do names[#names + 1] = t:get_name() end
  print(table.concat(names, " "))
  ev:set()
  await(asyncio.gather(w1, w2, w3, w4))
  -- a task whose result is itself describes without recursing
  local selfish
  selfish = asyncio.create_task(function() return selfish end, {name = "selfish"})
  await(selfish)
  print(selfish)
end, "main")

asyncio.run(main)
