-- A started task keeps only its body's function: get_coro() gives the
-- coroutine object until the first step and nil after, while the task's
-- description still names the coroutine. The name and the traceback of a
-- task share one record: setting one keeps the other.
local _ <close> = require "clean_loop"
asyncio.run(async function()
  local worker = asyncio.async(function() await asyncio.sleep(0.01) end, "worker")
  local co = worker()
  local t = asyncio.create_task(co)
  print(t:get_coro() == co, (tostring(t):gsub("running at [^>]*", "running at X")))
  await asyncio.sleep(0)
  print(t:get_coro(), (tostring(t):gsub("running at [^>]*", "running at X")))
  await t
  print(t)
  local anon = asyncio.create_task(async function() await asyncio.sleep(0.01) end)
  await asyncio.sleep(0)
  print((tostring(anon):gsub("running at [^>]*", "running at X"):gsub("function <[^>]*>", "function <F>")))
  anon:cancel()
  -- a named task that fails, renamed after it failed
  local bad = asyncio.create_task(function() error("boom", 0) end, {name = "bad"})
  await asyncio.sleep(0)
  print(bad:get_name(), bad:exception())
  bad:set_name("renamed")
  print(bad:get_name(), bad:exception())
  -- a failed task without a name: its traceback, then a name
  local worse = asyncio.create_task(function() error("worse", 0) end)
  await asyncio.sleep(0)
  worse:set_name("late")
  print(worse:get_name(), worse:exception())
end)
