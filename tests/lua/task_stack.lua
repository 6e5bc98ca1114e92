-- get_stack and print_stack: a task not started yet has no frames and
-- prints none; a parked one lists its awaiting frames, innermost first; a
-- failed one prints its error's traceback.
local _ <close> = require "clean_loop"
asyncio.run(async function()
  local async function inner() await asyncio.sleep(1) end
  local async function outer() await inner() end
  local t = asyncio.create_task(outer(), {name = "parked"})
  print(#t:get_stack())
  t:print_stack()
  await asyncio.sleep(0)
  local frames = t:get_stack()
  for i, f in ipairs(frames) do print(i, f.source, f.line, f.name) end
  print(#t:get_stack(1))
  t:print_stack()
  t:cancel()
  local bad = asyncio.create_task(function() error("boom") end, {name = "bad"})
  await asyncio.sleep(0)
  print(#bad:get_stack())
  bad:print_stack()
  print(bad:exception())
  print(pcall(asyncio.await, t))
end)
