-- Awaits of coroutine objects nest at any depth: the body of each runs
-- inline in the awaiting task, and every fifty nested levels the task
-- empties its C stack with a yield that no other task notices.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"

local async function plain(n)
  if n == 0 then return 0 end
  return 1 + await plain(n - 1)
end

local async function parks(n)
  if n == 0 then
    await asyncio.sleep(0)
    return 0
  end
  return 1 + await parks(n - 1)
end

local async function boom(n)
  if n == 0 then error("bottom", 0) end
  return await boom(n - 1)
end

-- a pcall at every level: two C levels each, far past Lua's 200
local async function guarded(n)
  if n == 0 then return "deep" end
  local ok, v = pcall(asyncio.await, guarded(n - 1))
  assert(ok, v)
  return v
end

local order = {}
asyncio.run(async function()
  local other = asyncio.create_task(async function() order[#order + 1] = "other task" end)
  order[#order + 1] = "start"
  print("plain 5000", await plain(5000))
  order[#order + 1] = "after 5000 levels"
  await other
  print(table.concat(order, ", "))
  print("parks at 20000", await parks(20000))
  print("error through 3000", pcall(function() return await boom(3000) end))
  print("pcall at each of 300", await guarded(300))

  -- a cancellation reaches a task parked 1000 levels down, and the __close
  -- handlers of every level run, innermost first
  local closed = {}
  local async function nest(n)
    local _ <close> = setmetatable({}, {__close = function() closed[#closed + 1] = n end})
    if n == 0 then await asyncio.sleep(3600) end
    return await nest(n - 1)
  end
  local t = asyncio.create_task(nest(1000))
  await asyncio.sleep(0)
  t:cancel()
  local ok, e = pcall(asyncio.await, t)
  print("cancelled at 1000", ok, asyncio.iserror(e, asyncio.CancelledError), #closed, closed[1], closed[1001])

  -- a task that catches its cancellation may still nest deep awaits and park
  local t3 = asyncio.create_task(async function()
    local ok, e = pcall(function() await asyncio.sleep(3600) end)
    print("caught", ok, asyncio.iserror(e, asyncio.CancelledError))
    print("deep after the cancellation", await plain(200))
    await asyncio.sleep(0)
    return "parked again"
  end)
  await asyncio.sleep(0)
  t3:cancel()
  print(await t3)

  -- where a C function cannot yield (a sort comparator), awaits that do not
  -- park still nest past fifty levels
  local t2 = {3, 1, 2}
  table.sort(t2, function(a, b) return await plain(60) + a < 60 + b end)
  print("in a sort comparator", table.concat(t2, " "))

  -- error levels: 1 is the async function, 2 the await, 3 the awaiting line
  local async function blame(level) error("blamed", level) end
  print(pcall(function() await blame(1) end))
  print(pcall(function() await blame(2) end))
  print(pcall(function()
    await blame(3)
  end))
end)
