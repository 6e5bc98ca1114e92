-- pingpong, bare Lua 5.4: two tasks, two unbounded FIFO queues, N round
-- trips: ping puts i on q1 and gets the reply from q2; pong gets from q1
-- and puts v * 2 on q2.  Same minimal scheduler as spawn/bare_lua.lua;
-- a get on an empty queue parks the task, a put hands the item to the
-- first parked getter and makes it ready (no put ever waits: unbounded).
local N = math.tointeger(tonumber(arg and arg[1])) or 500000
local create, resume, yield = coroutine.create, coroutine.resume, coroutine.yield
local clock = os.clock

-- scheduler ------------------------------------------------------------
local ready, nready, spare = {}, 0, {}
local current

local function wake(co, v)          -- v must not be nil (keeps the array dense)
  local n = nready + 2
  ready[n - 1], ready[n] = co, v
  nready = n
end

local function run()
  while nready > 0 do
    local batch, n = ready, nready
    ready, nready = spare, 0
    for i = 1, n, 2 do
      local co, v = batch[i], batch[i + 1]
      batch[i], batch[i + 1] = nil, nil
      current = co
      local ok, err = resume(co, v)
      if not ok then error(err, 0) end
    end
    spare = batch
  end
end

-- queue: items[ih..it], parked getters getters[gh..gt] ---------------------
local function new_queue()
  return { items = {}, ih = 1, it = 0, getters = {}, gh = 1, gt = 0 }
end

local function put(q, v)             -- v must not be nil
  local gh = q.gh
  if gh <= q.gt then                 -- a getter is parked: hand v over
    local getters = q.getters
    local co = getters[gh]
    getters[gh] = nil
    if gh == q.gt then q.gh, q.gt = 1, 0 else q.gh = gh + 1 end
    wake(co, v)
  else
    local it = q.it + 1
    q.items[it], q.it = v, it
  end
end

local function get(q)
  local ih = q.ih
  if ih <= q.it then
    local items = q.items
    local v = items[ih]
    items[ih] = nil
    if ih == q.it then q.ih, q.it = 1, 0 else q.ih = ih + 1 end
    return v
  end
  local gt = q.gt + 1
  q.getters[gt], q.gt = current, gt
  return yield()
end

-- workload ---------------------------------------------------------------
local q1, q2 = new_queue(), new_queue()
local sum, left, gatherer = 0, 2, nil

local function finished()
  left = left - 1
  if left == 0 then wake(gatherer, true) end
end

local function ping()
  local s = 0
  for i = 1, N do
    put(q1, i)
    s = s + get(q2)
  end
  sum = s
  finished()
end

local function pong()
  for _ = 1, N do
    put(q2, get(q1) * 2)
  end
  finished()
end

local main = create(function()
  local c0 = clock()
  io.stderr:write("@start\n")
  gatherer = current
  wake(create(ping), true)
  wake(create(pong), true)
  yield()
  io.stderr:write(string.format("@end cpu=%.6f\n", clock() - c0))
end)
wake(main, true)
run()
print(string.format("checksum=%d:%d", N, sum))
