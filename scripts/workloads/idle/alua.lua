-- idle, alua: N tasks each parked on one asyncio.Event; once all are
-- parked the event is set and they finish, gathered.  The harness runs
-- this with N and with 0 and divides the difference in max RSS by N.
local sleep = asyncio.sleep
local N = math.tointeger(tonumber(arg and arg[1])) or 100000

-- A field of /proc/self/status in KiB (VmHWM: peak RSS, VmRSS: RSS now).
-- The harness reads the peak from here rather than from wait4(), whose
-- ru_maxrss also counts the memory of the process that spawned this one
-- when that is larger.
local function status_kib(field)
  local f = io.open("/proc/self/status")
  if not f then return -1 end
  local s = f:read("a")
  f:close()
  return tonumber(s:match(field .. ":%s*(%d+)")) or -1
end

local async function work(ev, i)
  await ev:wait()
  return i
end

local results = asyncio.run(async function()
  local c0 = os.clock()
  io.stderr:write("@start\n")
  local ev = asyncio.Event()
  local tasks = {}
  for i = 1, N do tasks[i] = asyncio.create_task(work(ev, i)) end
  await sleep(0)                     -- every task runs up to its wait
  ev:set()
  -- the list form: any number of tasks, no argument per task
  local r = await asyncio.gather(tasks)
  io.stderr:write(string.format("@end cpu=%.6f\n", os.clock() - c0))
  return r
end)

local sum = 0
for i = 1, results.n do sum = sum + results[i] end
print(string.format("checksum=%d:%d", results.n, sum))
io.stderr:write(string.format("@maxrss kib=%d\n", status_kib("VmHWM")))
-- the tasks are done: after a full collection, what the process still holds
-- against what the Lua heap still uses
results = nil
collectgarbage()
collectgarbage()
io.stderr:write(string.format("@after rss_kib=%d heap_kib=%d\n", status_kib("VmRSS"),
                              math.floor(collectgarbage("count"))))
