-- timers, alua: N tasks sleeping delays spread over [0, 1) s
-- ((i % 1000) / 1000), gathered.  The figure is CPU time, not wall time.
local sleep = asyncio.sleep
local N = math.tointeger(tonumber(arg and arg[1])) or 100000

local async function work(i)
  await sleep((i % 1000) / 1000)
  return i
end

local results = asyncio.run(async function()
  local c0 = os.clock()
  io.stderr:write("@start\n")
  local tasks = {}
  for i = 1, N do tasks[i] = asyncio.create_task(work(i)) end
  local r = await asyncio.gather(table.unpack(tasks, 1, N))
  io.stderr:write(string.format("@end cpu=%.6f\n", os.clock() - c0))
  return r
end)

local sum = 0
for i = 1, results.n do sum = sum + results[i] end
print(string.format("checksum=%d:%d", results.n, sum))
