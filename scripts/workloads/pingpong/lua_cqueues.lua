-- pingpong, cqueues (lua5.4): two coroutines, two unbounded FIFO queues
-- built on condition variables, N round trips: ping puts i on q1 and gets
-- the reply from q2; pong gets from q1 and puts v * 2 on q2.
local cqueues = require "cqueues"
local condition = require "cqueues.condition"
local N = math.tointeger(tonumber(arg and arg[1])) or 500000
local clock = os.clock

local function new_queue()
  return { items = {}, ih = 1, it = 0, cond = condition.new() }
end

local function put(q, v)
  local it = q.it + 1
  q.items[it], q.it = v, it
  q.cond:signal(1)
end

local function get(q)
  while q.ih > q.it do q.cond:wait() end
  local ih, items = q.ih, q.items
  local v = items[ih]
  items[ih] = nil
  if ih == q.it then q.ih, q.it = 1, 0 else q.ih = ih + 1 end
  return v
end

local cq = cqueues.new()
local q1, q2 = new_queue(), new_queue()
local sum, left, done = 0, 2, condition.new()

local function finished()
  left = left - 1
  if left == 0 then done:signal() end
end

cq:wrap(function()
  local c0 = clock()
  io.stderr:write("@start\n")
  cq:wrap(function()
    local s = 0
    for i = 1, N do
      put(q1, i)
      s = s + get(q2)
    end
    sum = s
    finished()
  end)
  cq:wrap(function()
    for _ = 1, N do put(q2, get(q1) * 2) end
    finished()
  end)
  while left > 0 do done:wait() end
  io.stderr:write(string.format("@end cpu=%.6f\n", clock() - c0))
end)
assert(cq:loop())
print(string.format("checksum=%d:%d", N, sum))
