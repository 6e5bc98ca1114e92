-- Barrier: parties, arrival indexes, n_waiting, reuse over several cycles,
-- abort and reset with BrokenBarrierError, cancellation of a waiter.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"

local function kind(t)
  local ok, e = pcall(asyncio.await, t)
  if ok then return "ok " .. tostring(e) end
  return asyncio.iserror(e) and e.type or tostring(e)
end

async function main()
  -- three parties: the last to arrive releases all; indexes 0..2
  local b = asyncio.Barrier(3)
  print(b, b.parties, b.n_waiting, b.broken)
  local log = {}
  local party = async function(name, cycles)
    local idx = {}
    for c = 1, cycles do
      idx[#idx + 1] = await b:wait()
      log[#log + 1] = name .. c
    end
    return table.concat(idx, ",")
  end
  local p1 = asyncio.create_task(party("a", 3))
  local p2 = asyncio.create_task(party("b", 3))
  await asyncio.sleep(0)
  await asyncio.sleep(0)
  print("two waiting:", b.n_waiting, b, #log)
  local p3 = asyncio.create_task(party("c", 3))
  local r = await asyncio.gather(p1, p2, p3)
  print("indexes:", r[1], r[2], r[3])
  print("passed:", table.concat(log, " "), b)

  -- a barrier of one never waits
  local solo = asyncio.Barrier(1)
  print("solo:", await solo:wait(), await solo:wait())

  -- abort breaks the barrier for waiting and later tasks
  local ab = asyncio.Barrier(3)
  local w1 = asyncio.create_task(async function() return await ab:wait() end)
  local w2 = asyncio.create_task(async function() return await ab:wait() end)
  await asyncio.sleep(0)
  print("before abort:", ab.n_waiting, ab.broken)
  ab:abort()
  print("aborted:", kind(w1), kind(w2), ab.broken, ab.n_waiting, ab)
  print("wait on a broken barrier:", kind(asyncio.create_task(async function() return await ab:wait() end)))
  -- reset makes it usable again
  ab:reset()
  print("reset:", ab.broken, ab)
  local r2 = await asyncio.gather(ab:wait(), ab:wait(), ab:wait())
  print("after reset:", r2[1] + r2[2] + r2[3], ab)

  -- reset while tasks wait: they get BrokenBarrierError, the barrier works on
  local rb = asyncio.Barrier(2)
  local rw = asyncio.create_task(async function() return await rb:wait() end)
  await asyncio.sleep(0)
  rb:reset()
  print("reset while waiting:", kind(rw), rb.broken, rb)
  local r3 = await asyncio.gather(rb:wait(), rb:wait())
  print("then:", r3[1] + r3[2], rb)

  -- a cancelled waiter leaves; the others still need a full set
  local cb = asyncio.Barrier(2)
  local c1 = asyncio.create_task(async function() return await cb:wait() end)
  await asyncio.sleep(0)
  print("one waiting:", cb.n_waiting)
  c1:cancel()
  print("cancelled:", kind(c1), cb.n_waiting, cb)
  local r4 = await asyncio.gather(cb:wait(), cb:wait())
  print("full set:", r4[1] + r4[2], cb)

  -- misuse
  local function try(f) local ok, e = pcall(f) print(ok, e) end
  try(function() asyncio.Barrier(0) end)
  try(function() asyncio.Barrier(2.5) end)
  try(function() asyncio.Barrier() end)
  try(function() b.wait({}) end)
  try(function() b.abort(nil) end)
end

asyncio.run(main)
