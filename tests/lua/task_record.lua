-- A started task keeps only its body's function: get_coro() gives the
-- coroutine object until the first step and nil after, while the task's
-- description still names the coroutine. The name, the traceback and a
-- pending cancel message of a task share one record with its loop:
-- setting one keeps the others.
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
  -- the loop stays reachable once the task has a record
  local loop = asyncio.get_running_loop()
  print(bad:get_loop() == loop, worse:get_loop() == loop)
  -- a cancel message waits in the record until the task takes it; a later
  -- request without one, before the first reached the task, clears it
  local named = asyncio.create_task(async function() await asyncio.sleep(1) end, {name = "named"})
  await asyncio.sleep(0)
  named:cancel("first")
  print(named:get_name(), named:get_loop() == loop, pcall(asyncio.await, named))
  local twice = asyncio.create_task(async function() await asyncio.sleep(1) end, {name = "twice"})
  twice:cancel("first")
  twice:cancel()
  print(twice:get_name(), pcall(asyncio.await, twice))
  -- a message delivered to a task that had no record, then a name
  local plain = asyncio.create_task(async function() await asyncio.sleep(1) end)
  await asyncio.sleep(0)
  plain:cancel("why")
  print(pcall(asyncio.await, plain))
  plain:set_name("plain")
  print(plain:get_name(), plain:get_loop() == loop, select(2, pcall(plain.result, plain)))
  -- cancelled before its first step: get_coro() still gives the object
  local early = async function() return 1 end
  local eco = early()
  local e = asyncio.create_task(eco)
  e:cancel("early")
  print(pcall(asyncio.await, e))
  print(e:get_coro() == eco, e:get_loop() == loop)
  -- a task whose result is a coroutine object: get_coro() is still nil
  local inner = early()
  local r = asyncio.create_task(function() return inner end)
  await asyncio.sleep(0)
  print(r:done(), r:get_coro(), r:result() == inner)
  inner:close()
  -- a task holds its coroutine object only weakly: one nothing else holds
  -- can go before the task starts; get_coro() then makes an equal one,
  -- the same one at each call while it is held
  local seen = setmetatable({}, {__mode = "k"})
  local burst = {}
  for i = 1, 3 do
    local c = worker()
    seen[c] = true
    burst[i] = asyncio.create_task(c)
  end
  worker():close() -- the loop keeps the last object made until the next
  collectgarbage()
  collectgarbage()
  print(next(seen))
  local again = burst[1]:get_coro()
  print(tostring(again):match("^<coroutine object 'worker' at ") ~= nil, burst[1]:get_coro() == again,
        asyncio.iscoroutine(again), select(2, pcall(asyncio.await, again)))
  await asyncio.gather(burst)
  print(burst[1]:get_coro(), burst[1]:done())
  -- the same for a task cancelled before its first step
  local gone = asyncio.create_task(worker())
  worker():close()
  collectgarbage()
  gone:cancel()
  await asyncio.sleep(0)
  print(gone:cancelled(), tostring(gone:get_coro()):match("^<coroutine object 'worker' at ") ~= nil)
  -- and for a task of a plain function, which never had one
  local ft = asyncio.create_task(function(a, b) return a + b end, 2, 3)
  local fco = ft:get_coro()
  print(asyncio.iscoroutine(fco), ft:get_coro() == fco, await ft)
  -- a body with more arguments than a C function's stack holds
  local many = {}
  for i = 1, 5000 do many[i] = i end
  local count = asyncio.async(function(...) return select("#", ...) end, "count")
  print(await asyncio.create_task(count(table.unpack(many))),
        await asyncio.create_task(function(...) return select("#", ...) end, table.unpack(many)))
end)
