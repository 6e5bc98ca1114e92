-- await of coroutine objects (inline), tasks, futures and __await objects,
-- at any depth, through pcall and inside iterators.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"
local A, await = asyncio.async, asyncio.await

local add = A(function(a, b)
  await(asyncio.sleep(0))
  return a + b, a * b
end, "add")

-- a plain helper function that awaits: no colouring
local function helper(x) return await(add(x, x)) end

local Ticket = setmetatable({}, {__await = nil})
local ticket_mt = {__await = function(self) return add(self.n, 1) end}

local main = A(function()
  print("inline", await(add(2, 3)))
  print("helper", helper(4))
  local t = asyncio.create_task(add(5, 6))
  print("task", await(t))
  print("task again", await(t))
  print("pcall", pcall(function() return await(add(1, 1)) end))
  local ok, err = pcall(function()
    await(A(function() await(asyncio.sleep(0)); error("inner", 0) end)())
  end)
  print("pcall error", ok, err)
  print("__await", await(setmetatable({n = 41}, ticket_mt)))
  -- inside a generic for iterator
  local function ticks(n)
    local i = 0
    return function()
      i = i + 1
      if i <= n then await(asyncio.sleep(0)); return i end
    end
  end
  local seen = {}
  for i in ticks(3) do seen[#seen + 1] = i end
  print("iterator", table.concat(seen, ","))
  -- a __close handler may await
  do
    local guard <close> = setmetatable({}, {__close = function() await(asyncio.sleep(0)); print("closed after await") end})
  end
  -- errors for bad awaits
  print(pcall(await, 42))
  print(pcall(await, nil))
  -- a metatable's own metatable is never consulted: its fields are read raw
  print(pcall(await, setmetatable({}, setmetatable({}, {__index = function() error("consulted") end}))))
  local c = add(1, 2)
  await(c)
  print(pcall(await, c))
  return "main done"
end, "main")

print(asyncio.run(main))
print(Ticket ~= nil)
