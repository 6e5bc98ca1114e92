-- gather: argument order, results.n, first values, return_exceptions, the
-- first error raised at once while siblings keep running, cancellation.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"
local A, await = asyncio.async, asyncio.await

local log = {}
local job = A(function(name, delay, fail)
  await(asyncio.sleep(delay))
  log[#log + 1] = name
  if fail then error(name .. " failed", 0) end
  return name, "second value"
end, "job")

local main = A(function()
  -- completion order differs from argument order; results follow arguments
  local r = await(asyncio.gather(job("slow", 0.03), job("fast", 0.0), job("mid", 0.01)))
  print(r[1], r[2], r[3], r.n, table.concat(log, " "))

  -- no arguments
  local empty = await(asyncio.gather())
  print("empty", empty.n, #empty)

  -- futures, tasks and coroutine objects mixed; nil results keep their place
  local f = asyncio.Future()
  local t = asyncio.create_task(function() return nil end)
  asyncio.create_task(function() f:set_result("from future") end)
  local mixed = await(asyncio.gather(f, t, job("c", 0)))
  print(mixed[1], mixed[2], mixed[3], mixed.n)

  -- return_exceptions: errors go into the list
  log = {}
  local rs = await(asyncio.gather(job("ok", 0), job("bad", 0, true), {return_exceptions = true}))
  print(rs[1], rs[2], rs.n)
  -- successes on both sides of a failure in time, and a child done before
  -- the gather: every value lands in its argument's place
  log = {}
  local early = asyncio.Future()
  early:set_result("early", "ignored")
  local mix = await(asyncio.gather(job("a", 0.02), job("x", 0.01, true), early, job("b", 0), {return_exceptions = true}))
  print(mix[1], mix[2], mix[3], mix[4], mix.n, table.concat(log, " "))

  -- without it: the first error is raised at once, siblings keep running
  log = {}
  local sibling = asyncio.create_task(job("sibling", 0.03))
  local ok, err = pcall(await, asyncio.gather(job("boom", 0.01, true), sibling))
  print(ok, err, table.concat(log, " "), sibling:done())
  await(sibling)
  print("sibling finished", sibling:result())

  -- cancelling the gather cancels its unfinished children
  local a = asyncio.create_task(job("a", 10))
  local b = asyncio.create_task(job("b", 0))
  local g = asyncio.gather(a, b)
  await(asyncio.sleep(0.01))
  print("cancel gather", g:cancel(), b:done())
  local ok2, e2 = pcall(await, g)
  print(ok2, asyncio.iserror(e2, asyncio.CancelledError), a:cancelled(), g:cancelled())
  print(g:cancel())

  -- a cancelled child with return_exceptions shows up as a CancelledError
  local c = asyncio.create_task(job("c", 10))
  local g2 = asyncio.gather(c, job("d", 0), {return_exceptions = true})
  await(asyncio.sleep(0))
  c:cancel("no")
  local res = await(g2)
  print(tostring(res[1]), res[2])

  print(pcall(asyncio.gather, 1))
  -- futures and tasks before a bad argument are left as they were; the
  -- same future twice gives its result twice, in argument order
  local f = asyncio.get_running_loop():create_future()
  local t = asyncio.create_task(job("t", 0))
  local never = job("never", 0)
  print(pcall(asyncio.gather, f, t, never, "x"))
  never:close()
  f:set_result("f")
  local both = await(asyncio.gather(t, f, function() return "fn" end, f))
  print(both.n, both[1], both[2], both[3], both[4])
end, "main")
asyncio.run(main)
