-- idle, bare Lua 5.4: N coroutines each parked on one event (a plain list
-- of waiting coroutines); once all are parked the event is set and they
-- finish.  The harness runs this with N and with 0 and divides the
-- difference in max RSS by N: the memory of one parked coroutine.
-- Same minimal scheduler as spawn/bare_lua.lua.
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

local function sleep0()
  wake(current, true)
  yield()
end

-- event ------------------------------------------------------------------
local function event_wait(ev)
  if ev.is_set then return end
  local n = ev.n + 1
  ev.n, ev[n] = n, current
  yield()
end

local function event_set(ev)
  ev.is_set = true
  for i = 1, ev.n do wake(ev[i], true); ev[i] = nil end
  ev.n = 0
end

-- workload ---------------------------------------------------------------
local ev = { n = 0, is_set = false }
local results, left, gatherer

local function task(i)
  event_wait(ev)
  results[i] = i
  left = left - 1
  if left == 0 then wake(gatherer, true) end
end

local total
local main = create(function()
  local c0 = clock()
  io.stderr:write("@start\n")
  results, left, gatherer = {}, N, current
  for i = 1, N do wake(create(task), i) end
  sleep0()                           -- every task runs up to its wait
  assert(ev.n == N)
  event_set(ev)
  if left > 0 then yield() end
  io.stderr:write(string.format("@end cpu=%.6f\n", clock() - c0))
  local sum = 0
  for i = 1, N do sum = sum + results[i] end
  total = sum
end)
wake(main, true)
run()
print(string.format("checksum=%d:%d", N, total))
io.stderr:write(string.format("@maxrss kib=%d\n", peak_rss_kib()))
