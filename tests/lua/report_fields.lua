-- The default exception handler's report: the message, then task, future,
-- handle, exception and traceback, a line each. A message longer than a
-- Lua buffer's first block followed by a field once crashed the report (the
-- field's text was pushed above the buffer it was added to); a message that
-- is not a string was dropped. The child writes the reports to its stderr,
-- which the parent checks.
local _ <close> = require "clean_loop"

if arg[1] == "child" then
  local loop = asyncio.new_event_loop()
  local f = loop:create_future()
  local long = string.rep("m", 9000)
  loop:default_exception_handler({message = long, future = f, exception = string.rep("e", 5000)})
  loop:call_exception_handler({message = long, handle = loop:call_soon(print), traceback = "tb"})
  loop:call_exception_handler({message = {}, exception = "not a string message"})
  loop:call_exception_handler({message = 42})
  loop:call_exception_handler({future = f})
  f:cancel()
  loop:run_until_complete(asyncio.sleep(0))
  loop:close()
  os.exit(0, false)
end

local run_child = require "child"
asyncio.run(async function()
  local out, err, status = run_child(30)
  print("stdout (the handle's print):", ("%q"):format(out))
  -- long runs of one letter shown as their length
  for _, c in ipairs{"m", "e"} do
    err = err:gsub(c:rep(6) .. c .. "*", function(run) return ("<%d x %s>"):format(#run, c) end)
  end
  err = err:gsub("0x%x+", "0xADDR")
  io.write(err)
  print("exit status", status)
end)
