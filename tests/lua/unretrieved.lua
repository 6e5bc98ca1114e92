-- A failed task whose error nobody retrieved is reported to the loop's
-- exception handler: when it is collected, or when its loop closes.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"
local A, await = asyncio.async, asyncio.await

local fail = A(function(msg) error(msg, 0) end, "fail")

asyncio.run(A(function()
  local loop = asyncio.get_running_loop()
  loop:set_exception_handler(function(l, ctx)
    print("handler:", ctx.message, tostring(ctx.task):match("^<Task finished name='(.-)'"), ctx.exception,
      l == loop, type(ctx.traceback))
  end)
  -- started from a task that ends, so no stack slot of ours still holds it
  await(asyncio.create_task(function() asyncio.create_task(fail("collected"), {name = "lost"}) end))
  await(asyncio.sleep(0))
  collectgarbage()
  collectgarbage()
  print("after collection")
  -- retrieved through result(), exception() or await: never reported
  local seen = asyncio.create_task(fail("seen"))
  await(asyncio.sleep(0))
  print(seen:exception())
  -- still referenced when the loop closes: reported at close
  _G.kept = asyncio.create_task(fail("at close"), {name = "kept"})
  await(asyncio.sleep(0))
  print("main returns")
end))
print("after run")
-- with the default handler, the report goes to stderr
asyncio.run(function()
  _G.kept2 = asyncio.create_task(fail("default handler"), {name = "d"})
  await(asyncio.sleep(0))
end)
