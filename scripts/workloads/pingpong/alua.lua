-- pingpong, alua: two tasks, two asyncio.Queues, N round trips: ping puts
-- i on q1 and gets the reply from q2; pong gets from q1 and puts v * 2 on q2.
local N = math.tointeger(tonumber(arg and arg[1])) or 500000

local async function ping(q1, q2)
  local s = 0
  for i = 1, N do
    await q1:put(i)
    s = s + await q2:get()
  end
  return s
end

local async function pong(q1, q2)
  for _ = 1, N do
    await q2:put(await q1:get() * 2)
  end
end

local sum = asyncio.run(async function()
  local c0 = os.clock()
  io.stderr:write("@start\n")
  local q1, q2 = asyncio.Queue(), asyncio.Queue()
  local r = await asyncio.gather(asyncio.create_task(ping(q1, q2)),
                                 asyncio.create_task(pong(q1, q2)))
  io.stderr:write(string.format("@end cpu=%.6f\n", os.clock() - c0))
  return r[1]
end)

print(string.format("checksum=%d:%d", N, sum))
