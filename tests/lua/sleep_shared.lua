-- sleep(delay) without values returns one shared object armed with the
-- delay, which the await takes: several sleeps made before any is awaited
-- each keep their delay, and a sleep is awaited once, as a coroutine is.
-- On virtual time: the loop's clock reads the deadlines exactly.
local _ <close> = require "clean_loop"
asyncio.run(async function()
  local loop = asyncio.get_running_loop()
  local t0 = loop:time()
  local a = asyncio.sleep(0.05) -- not awaited yet
  local b = asyncio.sleep(0.01)
  print("two objects:", a ~= b)
  await b
  print(("b slept its own delay: %.3f"):format(loop:time() - t0))
  await a
  print(("a slept its own delay: %.3f"):format(loop:time() - t0))
  local c = asyncio.sleep(0.001)
  await c
  print(pcall(function() await c end))
  -- sleeps of several tasks at once, each with its delay and values
  local order = {}
  local function sleeper(d, name)
    return async function()
      await asyncio.sleep(d)
      order[#order + 1] = name
      return await asyncio.sleep(0, name)
    end
  end
  local r = await asyncio.gather(sleeper(0.03, "c")(), sleeper(0.01, "a")(), sleeper(0.02, "b")())
  print(table.concat(order, " "), r[1], r[2], r[3])
  -- sleep(0) is shared too, and may be awaited any number of times
  local z = asyncio.sleep(0)
  await z
  await z
  local z2 = asyncio.sleep(0)
  print("sleep(0) twice:", z == z2)
  await z2 -- (a sleep never awaited warns)
end, {virtual_time = true})
