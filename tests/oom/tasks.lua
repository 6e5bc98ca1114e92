-- Out-of-memory sweep: tasks, gather, wait_for, timeouts, cancellation,
-- shields, task groups, futures and loop callbacks.
local raises = dofile("support/raises.lua")

local async function twice(x)
  await asyncio.sleep(0)
  return 2 * x
end

asyncio.run(async function()
  local loop = asyncio.get_running_loop()
  local r = await asyncio.gather(twice(1), asyncio.create_task(twice(2)), twice(3))
  print("gather", r[1], r[2], r[3])

  -- a sleeper cancelled; a wait_for that times out
  local sleeper = asyncio.create_task(function() await asyncio.sleep(10) end, {name = "sleeper"})
  await asyncio.sleep(0)
  sleeper:cancel()
  print("cancelled", raises(asyncio.CancelledError, function() return await sleeper end), sleeper:cancelled())
  print("wait_for", raises(asyncio.TimeoutError, function() return await asyncio.wait_for(asyncio.sleep(10), 0.01) end))

  -- a timeout scope and a shield
  print("timeout", raises(asyncio.TimeoutError, function()
    local _ <close> = asyncio.timeout(0.01)
    await asyncio.sleep(10)
  end))
  local inner = asyncio.create_task(twice(21))
  print("shield", await asyncio.shield(inner))

  -- a task group whose child fails
  print("taskgroup", raises(asyncio.ExceptionGroup, function()
    local tg <close> = asyncio.TaskGroup()
    tg:create_task(twice(1))
    tg:create_task(function() error("boom") end)
    await asyncio.sleep(1)
  end))

  -- wait and as_completed
  local ts = {asyncio.create_task(twice(1)), asyncio.create_task(function() await asyncio.sleep(10) end)}
  local done, pending = await asyncio.wait(ts, {timeout = 0.01})
  print("wait", #done, #pending)
  ts[2]:cancel()
  for t in asyncio.as_completed({asyncio.create_task(twice(5))}) do print("as_completed", await t) end

  -- futures, done callbacks, call_soon and call_later
  local f = loop:create_future()
  f:add_done_callback(function(fut) print("callback", fut:result()) end)
  loop:call_soon(function() f:set_result("soon") end)
  print("future", await f)
  local later = asyncio.Future()
  loop:call_later(0.001, function(v) later:set_result(v) end, "later")
  print("call_later", await later)
end)
