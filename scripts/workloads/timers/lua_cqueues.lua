-- timers, cqueues (lua5.4): N coroutines sleeping delays spread over
-- [0, 1) s ((i % 1000) / 1000, through cqueues.sleep); the main coroutine
-- waits on a condition variable until all are done (the gather).
-- The figure is CPU time, not wall time.
local cqueues = require "cqueues"
local condition = require "cqueues.condition"
local N = math.tointeger(tonumber(arg and arg[1])) or 100000
local sleep, clock = cqueues.sleep, os.clock

local cq = cqueues.new()
local results, left, done = {}, N, condition.new()

local function work(i)
  sleep((i % 1000) / 1000)
  return i
end

local function task(i)
  results[i] = work(i)
  left = left - 1
  if left == 0 then done:signal() end
end

cq:wrap(function()
  local c0 = clock()
  io.stderr:write("@start\n")
  for i = 1, N do cq:wrap(task, i) end
  while left > 0 do done:wait() end
  io.stderr:write(string.format("@end cpu=%.6f\n", clock() - c0))
end)
assert(cq:loop())

local sum = 0
for i = 1, N do sum = sum + results[i] end
print(string.format("checksum=%d:%d", N, sum))
