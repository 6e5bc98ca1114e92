-- spawn, bare Lua 5.4: N tasks, each sleep(0) once and return its index,
-- gathered.  A minimal honest scheduler: a FIFO ready queue of
-- (coroutine, resume value) pairs run pass by pass as asyncio does (each
-- pass runs what was ready when it began); sleep(0) re-queues the caller.
local N = math.tointeger(tonumber(arg and arg[1])) or 200000
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

-- workload ---------------------------------------------------------------
local results, left, gatherer

local function work(i)
  sleep0()
  return i
end

local function task(i)               -- a task stores its result in the gather
  results[i] = work(i)
  left = left - 1
  if left == 0 then wake(gatherer, true) end
end

local total
local main = create(function()
  local c0 = clock()
  io.stderr:write("@start\n")
  results, left, gatherer = {}, N, current
  for i = 1, N do wake(create(task), i) end
  if left > 0 then yield() end
  io.stderr:write(string.format("@end cpu=%.6f\n", clock() - c0))
  local sum = 0
  for i = 1, N do sum = sum + results[i] end
  total = sum
end)
wake(main, true)
run()
print(string.format("checksum=%d:%d", N, total))
