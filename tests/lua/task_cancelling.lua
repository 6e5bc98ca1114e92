-- A pending task with a cancel request reads <Task cancelling ...>, as in
-- asyncio: before it has seen the CancelledError, and after it caught it
-- and went on, until uncancel() takes the request back.
local _ <close> = require "clean_loop"
local loop = asyncio.new_event_loop()
local go = loop:create_future()
local t = loop:create_task(async function()
  local ok, e = pcall(asyncio.await, asyncio.sleep(10))
  print("caught:", e)
  await go
  return "done"
end, {name = "worker"})
loop:run_until_complete(asyncio.sleep(0))
print(t)
t:cancel()
print(t)
loop:run_until_complete(asyncio.sleep(0))
print(t, t:cancelling())
t:uncancel()
print(t)
go:set_result()
loop:run_until_complete(t)
print(t)
loop:close()
