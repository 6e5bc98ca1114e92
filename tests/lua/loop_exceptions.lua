-- The exception handler: errors in callbacks and unretrieved task errors
-- reach it with the handle or task, the message, the error and the
-- traceback; the loop keeps running; the default handler writes each report
-- to stderr once.
local _ <close> = require "clean_loop"
local loop = asyncio.new_event_loop()
local function oops(what) error("oops: " .. what) end

local function describe(ctx)
  local keys = {}
  for k in pairs(ctx) do keys[#keys + 1] = k end
  table.sort(keys)
  print("handler got: " .. table.concat(keys, ", "))
  print("  message:", ctx.message)
  print("  exception:", ctx.exception)
  if ctx.handle then print("  handle:", (tostring(ctx.handle):gsub("when=[%d.]+", "when=N"))) end
  if ctx.task then print("  task:", ctx.task) end
  if ctx.traceback then print("  traceback:\n" .. ctx.traceback) end
end

print(loop:get_exception_handler())
loop:set_exception_handler(function(l, ctx)
  assert(l == loop)
  describe(ctx)
end)
print(type(loop:get_exception_handler()))

print("-- errors in call_soon, call_later and call_soon_threadsafe callbacks")
local h = loop:call_soon(oops, "soon")
loop:call_later(0, oops, "later")
loop:call_soon_threadsafe(oops, "threadsafe")
loop:call_soon(function() print("the loop keeps running") end)
loop:call_later(0.01, loop.stop, loop)
loop:run_forever()

print("-- a non-string error value")
loop:call_soon(function() error({code = 7}) end)
loop:call_soon(loop.stop, loop)
loop:set_exception_handler(function(l, ctx) print("code", ctx.exception.code, ctx.handle ~= nil) end)
loop:run_forever()

print("-- an unretrieved task error")
loop:set_exception_handler(function(l, ctx) describe(ctx) end)
loop:run_until_complete(async function()
  local t = asyncio.create_task(async function() error("task failed", 0) end, {name = "failing"})
  await asyncio.sleep(0)
  t = nil
  collectgarbage()
  collectgarbage()
end)

print("-- call_exception_handler with a context of our own")
loop:call_exception_handler({message = "custom", answer = 42})

print("-- a failing handler: reported, then the default handler runs")
loop:set_exception_handler(function() error("handler broke", 0) end)
loop:call_soon(oops, "with a broken handler")
loop:call_soon(loop.stop, loop)
loop:run_forever()

print("-- back to the default handler: stderr, once per error")
loop:set_exception_handler(nil)
print(loop:get_exception_handler())
loop:call_soon(oops, "default")
loop:call_soon(loop.stop, loop)
loop:run_forever()
loop:call_exception_handler({message = "just a message"})
loop:default_exception_handler({message = "called directly", exception = "e"})

print("-- argument errors")
print(pcall(loop.set_exception_handler, loop, 42))
print(pcall(loop.call_exception_handler, loop, "x"))
loop:close()
print("end")
