-- A small coroutine scheduler in plain Lua 5.4, in the style of the many
-- libraries that name their helpers `async` and `await`. alua must load it
-- unchanged: `async` and `await` are declared here, so they stay names.
local M = {}

local ready = {}      -- queue of { co, value } to resume
local sleeping = {}   -- list of { co, wake_at }
local now = 0         -- simulated clock

local function schedule(co, value)
  ready[#ready + 1] = { co, value }
end

-- `async(fn)` wraps fn so that calling it starts a coroutine.
local function async(fn)
  return function(...)
    local co = coroutine.create(fn)
    local task = { co = co, done = false, result = nil, waiters = {} }
    local args = table.pack(...)
    schedule(co, args)
    M.tasks[co] = task
    return task
  end
end

-- `await(task)` suspends the running coroutine until task is done.
local function await(task)
  if task.done then return task.result end
  local co = coroutine.running()
  task.waiters[#task.waiters + 1] = co
  return coroutine.yield()
end

local function sleep(dt)
  local co = coroutine.running()
  sleeping[#sleeping + 1] = { co, now + dt }
  return coroutine.yield()
end

M.tasks = setmetatable({}, { __mode = "k" })
M.async, M.await, M.sleep = async, await, sleep

local function finish(task, ok, result)
  task.done = true
  task.result = ok and result or nil
  task.error = not ok and result or nil
  for _, waiter in ipairs(task.waiters) do
    schedule(waiter, task.result)
  end
end

local function step(co, value)
  local ok, result
  if type(value) == "table" and value.n then
    ok, result = coroutine.resume(co, table.unpack(value, 1, value.n))
  else
    ok, result = coroutine.resume(co, value)
  end
  if coroutine.status(co) == "dead" then
    finish(M.tasks[co], ok, result)
  end
end

function M.run(main, ...)
  local task = async(main)(...)
  while not task.done do
    if #ready > 0 then
      local batch = ready
      ready = {}
      for i = 1, #batch do
        step(batch[i][1], batch[i][2])
      end
    elseif #sleeping > 0 then
      table.sort(sleeping, function(a, b) return a[2] < b[2] end)
      local first = table.remove(sleeping, 1)
      now = math.max(now, first[2])
      schedule(first[1], now)
    else
      error("deadlock: main task waits forever", 2)
    end
  end
  if task.error then error(task.error, 0) end
  return task.result
end

function M.gather(...)
  local tasks = { ... }
  local results = { n = #tasks }
  for i, task in ipairs(tasks) do
    results[i] = await(task)
  end
  return results
end

-- a queue with blocking get, built on the same primitives
local Queue = {}
Queue.__index = Queue

function Queue.new() return setmetatable({ items = {}, getters = {} }, Queue) end

function Queue:put(item)
  local getter = table.remove(self.getters, 1)
  if getter then
    schedule(getter, item)
  else
    self.items[#self.items + 1] = item
  end
end

function Queue:get()
  if #self.items > 0 then return table.remove(self.items, 1) end
  self.getters[#self.getters + 1] = coroutine.running()
  return coroutine.yield()
end

M.Queue = Queue

-- the library used as its users would use it
local produce = async(function(q, n)
  for i = 1, n do
    sleep(0.1 * i)
    q:put(i * i)
  end
  q:put(false)
  return "produced " .. n
end)

local consume = async(function(q)
  local total = 0
  while true do
    local item = q:get()
    if not item then break end
    total = total + item
  end
  return total
end)

local result = M.run(function()
  local q = Queue.new()
  local p = produce(q, 4)
  local c = consume(q)
  local all = M.gather(p, c)
  return all
end)
assert(result[1] == "produced 4" and result[2] == 1 + 4 + 9 + 16)
assert(now >= 0.4 - 1e-9)

local nested = M.run(function()
  local inner = async(function(x) sleep(1) return x + 1 end)
  return await(inner(await(inner(1))))
end)
assert(nested == 3)

local ok, err = pcall(M.run, function() error("boom") end)
assert(not ok and err:find("boom"))

return M
