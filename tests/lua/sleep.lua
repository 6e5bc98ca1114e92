-- sleep: extra values, ordering by deadline, equal deadlines in scheduling
-- order, sleep(0) yields once, bad delays.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"
local A, await = asyncio.async, asyncio.await

local order = {}
local sleeper = A(function(name, delay)
  await(asyncio.sleep(delay))
  order[#order + 1] = name
end, "sleeper")

local main = A(function()
  print(await(asyncio.sleep(0, "a", nil, 3)))
  print(select("#", await(asyncio.sleep(0.001, 1, nil))))
  local loop = asyncio.get_running_loop()
  local t0 = loop:time()
  await(asyncio.sleep(0.05))
  local elapsed = loop:time() - t0
  print("slept long enough", elapsed >= 0.05, elapsed < 2)
  local ts = {}
  for i, spec in ipairs({{"c", 0.03}, {"a", 0.01}, {"b1", 0.02}, {"b2", 0.02}, {"z", 0}, {"neg", -1}}) do
    ts[i] = asyncio.create_task(sleeper(spec[1], spec[2]))
  end
  await(asyncio.gather(table.unpack(ts)))
  print(table.concat(order, " "))
  -- sleep(0) lets other tasks run exactly once
  local ticks = {}
  local ticker = asyncio.create_task(function()
    for i = 1, 3 do ticks[#ticks + 1] = "t" .. i; await(asyncio.sleep(0)) end
  end)
  for i = 1, 3 do ticks[#ticks + 1] = "m" .. i; await(asyncio.sleep(0)) end
  await(ticker)
  print(table.concat(ticks, " "))
  print(pcall(asyncio.sleep, 0 / 0))
  print(pcall(asyncio.sleep, "soon"))
  print(pcall(asyncio.sleep))
  print(tostring(asyncio.sleep(1.5)))
  -- an infinite sleep waits until cancelled
  local forever = asyncio.create_task(function() await(asyncio.sleep(math.huge)) end)
  await(asyncio.sleep(0.01))
  forever:cancel()
  print(pcall(await, forever))
end, "main")
asyncio.run(main)
