-- idle, cqueues (lua5.4): N coroutines each parked on one condition
-- variable; once all are parked it is signalled and they finish; the main
-- coroutine waits on a second condition until all are done (the gather).
-- The harness runs this with N and with 0 and divides the difference in
-- max RSS by N.
local cqueues = require "cqueues"
local condition = require "cqueues.condition"
local N = math.tointeger(tonumber(arg and arg[1])) or 100000

-- Peak RSS of this process in KiB (VmHWM).  The harness reads it from here
-- rather than from wait4(), whose ru_maxrss also counts the memory of the
-- process that spawned this one when that is larger.
local function peak_rss_kib()
  local f = io.open("/proc/self/status")
  if not f then return -1 end
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmHWM:%s*(%d+)")) or -1
end

local clock = os.clock

local cq = cqueues.new()
local results, left, parked = {}, N, 0
local ev, done = condition.new(), condition.new()
local is_set = false

local function task(i)
  if not is_set then
    parked = parked + 1
    ev:wait()
  end
  results[i] = i
  left = left - 1
  if left == 0 then done:signal() end
end

cq:wrap(function()
  local c0 = clock()
  io.stderr:write("@start\n")
  for i = 1, N do cq:wrap(task, i) end
  repeat                             -- every task runs up to its wait
    cqueues.sleep(0)
  until parked == N
  is_set = true
  ev:signal()
  while left > 0 do done:wait() end
  io.stderr:write(string.format("@end cpu=%.6f\n", clock() - c0))
end)
assert(cq:loop())

local sum = 0
for i = 1, N do sum = sum + results[i] end
print(string.format("checksum=%d:%d", N, sum))
io.stderr:write(string.format("@maxrss kib=%d\n", peak_rss_kib()))
