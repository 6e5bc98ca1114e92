-- coroutine.yield() from a task's own code: the task's thread yields only
-- to the scheduler, so the call raises where it is made, as asyncio throws
-- "bad yield" into the coroutine: pcall catches it, the task goes on, and
-- <close> variables see the error of a task it ends. Coroutines a task
-- runs itself (generators) yield as in Lua, and so does code outside tasks.
local _ <close> = require "clean_loop"

local function closer(name)
  return setmetatable({}, {__close = function(_, err) print(name .. " closed:", err) end})
end

asyncio.run(async function()
  -- caught where it is raised; the task goes on
  local caught = asyncio.create_task(async function()
    local _ <close> = closer("caught")
    local ok, err = pcall(coroutine.yield, "value")
    print("pcall:", ok, err)
    await asyncio.sleep(0)
    return "went on"
  end)
  print("caught task:", await caught)

  -- not caught: the task fails with the error, positioned at the call
  local stray = asyncio.create_task(async function()
    local _ <close> = closer("stray")
    coroutine.yield()
    print("not reached")
  end)
  print("stray task:", pcall(asyncio.await, stray))
  print("stray done:", stray:done(), stray:cancelled())

  -- a generator inside a task yields to its own caller
  local gen = coroutine.wrap(function()
    for i = 1, 3 do coroutine.yield(i) end
  end)
  print("generator:", gen(), gen(), gen())
  local co = coroutine.create(function(a)
    await asyncio.sleep(0)
  end)
  print("await in a coroutine a task runs:", coroutine.resume(co))
end)

-- outside any task, coroutine.yield is Lua's
local co = coroutine.wrap(function(a)
  local b = coroutine.yield(a + 1)
  return b * 2
end)
print("outside tasks:", co(1), co(10))
