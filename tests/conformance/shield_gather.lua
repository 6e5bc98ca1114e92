-- shield, and gather's cancellation rules.
local _ <close> = require "clean_loop"
local function check(name, cond) print(name, cond and "ok" or "FAILED") end

async function main()
  -- shield: cancelling the outer await leaves the inner running
  do
    local proof = 0
    local waiter = asyncio.Future()
    local async function inner() await waiter; proof = proof + 1 end
    local async function outer() await asyncio.shield(inner()); proof = proof + 100 end
    local t = asyncio.create_task(outer())
    await asyncio.sleep(0)
    t:cancel()
    check("outer cancelled", not pcall(asyncio.await, t) and t:cancelled())
    waiter:set_result()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    check("inner went on", proof == 1)
  end
  -- shield passes results and errors through
  do
    local r = table.pack(await asyncio.shield(asyncio.sleep(0, "a", "b")))
    check("results through shield", r.n == 2 and r[1] == "a" and r[2] == "b")
    local ok, e = pcall(asyncio.await, asyncio.shield(async function() error("inner error", 0) end))
    check("error through shield", not ok and e == "inner error")
  end
  -- cancelling the inner task cancels the shield's future
  do
    local inner = asyncio.create_task(async function() await asyncio.sleep(10) end)
    local outer = asyncio.shield(inner)
    await asyncio.sleep(0)
    inner:cancel()
    check("inner cancel reaches outer", not pcall(asyncio.await, outer) and outer:cancelled())
  end
  -- a shielded done task is returned as it is
  do
    local t = asyncio.create_task(function() return 1 end)
    await t
    check("done task returned", asyncio.shield(t) == t)
  end

  -- gather: one child fails: its error is raised, the others go on
  do
    local b = asyncio.create_task(async function() await asyncio.sleep(0.02); return "b" end)
    local ok, e = pcall(asyncio.await, asyncio.gather(async function() error("a failed", 0) end, b))
    check("first error raised", not ok and e == "a failed" and not b:done())
    check("sibling completes", await b == "b")
  end
  -- gather: a child cancelled without return_exceptions raises CancelledError
  do
    local a = asyncio.create_task(async function() await asyncio.sleep(1) end)
    local g = asyncio.gather(a, asyncio.sleep(0, "x"))
    await asyncio.sleep(0)
    a:cancel()
    local ok, e = pcall(asyncio.await, g)
    check("cancelled child -> CancelledError", not ok and asyncio.iserror(e, asyncio.CancelledError) and not g:cancelled())
  end
  -- gather: cancelling the gather cancels the children; it ends cancelled
  do
    local a = asyncio.create_task(async function() await asyncio.sleep(1) end)
    local b = asyncio.create_task(async function() await asyncio.sleep(1) end)
    local g = asyncio.gather(a, b)
    await asyncio.sleep(0)
    check("gather:cancel() true", g:cancel("enough"))
    local ok, e = pcall(asyncio.await, g)
    check("children and gather cancelled", a:cancelled() and b:cancelled() and g:cancelled() and not ok)
    check("cancelling a finished gather is false", g:cancel() == false)
  end
  -- gather: cancelling the task awaiting the gather cancels the children
  do
    local a = asyncio.create_task(async function() await asyncio.sleep(1) end)
    local waiter = asyncio.create_task(async function() return await asyncio.gather(a) end)
    await asyncio.sleep(0)
    waiter:cancel()
    pcall(asyncio.await, waiter)
    check("awaiting task cancel reaches children", a:cancelled() and waiter:cancelled())
  end
  -- gather: return_exceptions with a cancelled child
  do
    local a = asyncio.create_task(async function() await asyncio.sleep(1) end)
    local g = asyncio.gather(a, async function() error("oops", 0) end, {return_exceptions = true})
    await asyncio.sleep(0)
    a:cancel()
    local r = await g
    check("return_exceptions keeps order", asyncio.iserror(r[1], asyncio.CancelledError) and r[2] == "oops" and r.n == 2)
  end
end

asyncio.run(main)
