-- asyncio.wait and asyncio.as_completed.
local _ <close> = require "clean_loop"
local function check(name, cond) print(name, cond and "ok" or "FAILED") end

local function job(delay, value, fail)
  return asyncio.create_task(async function()
    await asyncio.sleep(delay)
    if fail then error(value, 0) end
    return value
  end)
end

local function names(list)
  local out = {}
  for i, t in ipairs(list) do out[i] = t:done() and (t:cancelled() and "cancelled" or tostring(t:exception() or t:result())) or "pending" end
  return table.concat(out, ",")
end

async function main()
  -- ALL_COMPLETED (the default); results keep the input order
  local a, b, c = job(0.03, "a"), job(0.01, "b"), job(0.02, "c")
  local done, pending = await asyncio.wait({a, b, c})
  check("all completed", #done == 3 and #pending == 0 and names(done) == "a,b,c")

  -- FIRST_COMPLETED
  a, b = job(0.05, "a"), job(0.01, "b")
  done, pending = await asyncio.wait({a, b}, {return_when = asyncio.FIRST_COMPLETED})
  check("first completed", names(done) == "b" and names(pending) == "pending")
  await a

  -- FIRST_EXCEPTION: returns at the first failure, never raises
  a, b, c = job(0.05, "a"), job(0.01, "b failed", true), job(0.001, "c")
  done, pending = await asyncio.wait({a, b, c}, {return_when = asyncio.FIRST_EXCEPTION})
  check("first exception", names(done) == "b failed,c" and #pending == 1)
  await a

  -- FIRST_EXCEPTION with no failure waits for all
  done, pending = await asyncio.wait({job(0.01, 1), job(0.02, 2)}, {return_when = asyncio.FIRST_EXCEPTION})
  check("first exception without one", #done == 2 and #pending == 0)

  -- timeout: returns what is done, cancels nothing, raises nothing
  a, b = job(0.01, "a"), job(1, "b")
  done, pending = await asyncio.wait({a, b}, {timeout = 0.05})
  check("timeout", names(done) == "a" and #pending == 1 and not b:cancelled())
  b:cancel()

  -- coroutine objects are wrapped in tasks; bad arguments are errors
  done = await asyncio.wait({asyncio.sleep(0, "x")})
  check("coroutine wrapped", done[1]:result() == "x")
  check("empty list refused", not pcall(asyncio.await, asyncio.wait({})))
  check("bad return_when refused", not pcall(asyncio.await, asyncio.wait({job(0, 1)}, {return_when = "SOMETIMES"})))

  -- as_completed: completion order
  local order = {}
  for t in asyncio.as_completed({job(0.03, "slow"), job(0.01, "fast"), job(0.02, "mid")}) do
    order[#order + 1] = await t
  end
  check("as_completed order", table.concat(order, ",") == "fast,mid,slow")

  -- as_completed with a timeout raises TimeoutError once it passes
  local got = {}
  local slow = job(1, "never")
  local ok, e = pcall(function()
    for t in asyncio.as_completed({job(0.01, "quick"), slow}, {timeout = 0.05}) do
      got[#got + 1] = t:result()
    end
  end)
  check("as_completed timeout", not ok and asyncio.iserror(e, asyncio.TimeoutError) and table.concat(got) == "quick")
  slow:cancel()
end

asyncio.run(main)
