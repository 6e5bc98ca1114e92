-- Cancelling the task that awaits a worker never wedges the pool: a job
-- still queued is dropped, a Lua function still running is stopped (its
-- result would be dropped anyway), and closing the loop does not hang.
local _ <close> = require "clean_loop"
local function spin()
  while true do end
end

local function slow(x)
  os.execute("sleep 0.2")
  return x
end

asyncio.run(async function()
  local loop = asyncio.get_running_loop()
  -- more endless jobs than the pool has workers: some run, some wait
  local tasks = {}
  for i = 1, 40 do tasks[i] = asyncio.create_task(asyncio.to_thread(spin)) end
  await asyncio.sleep(0.05)
  for i = 1, 40 do tasks[i]:cancel() end
  local cancelled = 0
  for i = 1, 40 do
    local ok, err = pcall(function() return await tasks[i] end)
    if not ok and asyncio.iserror(err, asyncio.CancelledError) then cancelled = cancelled + 1 end
  end
  print("cancelled:", cancelled)
  -- every worker is free again
  local results = {}
  for i = 1, 40 do results[i] = asyncio.to_thread(function(n) return n * n end, i) end
  local squares = await asyncio.gather(table.unpack(results))
  print("then 40 more jobs:", squares.n, squares[40])

  -- a job blocked in C finishes in the background; its result is dropped
  local t = asyncio.create_task(asyncio.to_thread(slow, "dropped"))
  await asyncio.sleep(0.05)
  t:cancel()
  print(pcall(function() return await t end) == false, t:cancelled())

  -- the future of run_in_executor can be cancelled directly
  local f = loop:run_in_executor(nil, spin)
  await asyncio.sleep(0.01)
  print("cancel the future:", f:cancel(), f:cancelled())
  print(await asyncio.to_thread(slow, "still works"))

  -- left running when main returns: cancelled by asyncio.run, and the loop's
  -- close does not wait forever for it
  asyncio.create_task(asyncio.to_thread(spin))
  await asyncio.sleep(0.01)
end)
print("closed")

-- a loop closed while a job is still running (no task awaits it)
local loop = asyncio.new_event_loop()
local f = loop:run_in_executor(nil, spin)
loop:run_until_complete(asyncio.sleep(0.01))
loop:close()
print("closed with a job running:", f:done())
