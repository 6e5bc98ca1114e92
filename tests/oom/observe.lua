-- Out-of-memory sweep: what reports on tasks: debug mode's accounting
-- (a task renamed between steps), asyncio.ps() and format_ps(), a deadlock
-- report, a trace written to a file, and timelines.
-- run-oom gives each run a directory of its own
local dir = os.getenv("ALUA_OOM_TMPDIR") or "."

asyncio.run(async function()
  local ev = asyncio.Event()
  local worker = asyncio.create_task(async function()
    await asyncio.sleep(0)
    asyncio.current_task():set_name("renamed")
    await ev:wait()
  end, {name = "worker"})
  await asyncio.sleep(0)
  await asyncio.sleep(0)
  local recs = asyncio.ps()
  print(#recs, recs[2].name, recs[2].steps, #asyncio.format_ps() > 0)
  ev:set()
  await worker
end, {debug = true})

local ok, err = pcall(asyncio.run, async function()
  local q = asyncio.Queue()
  local consumer = asyncio.create_task(async function()
    for _ = 1, 2 do await q:get() end
  end, {name = "consumer"})
  await asyncio.sleep(1)
  q:put_nowait(1)
  await consumer
end, {virtual_time = true})
-- anything but the deadlock (running out of memory) goes on up
if ok or not tostring(err):match("^[^\n]*deadlock") then error(err, 0) end
print("deadlock")

asyncio.trace.start(dir .. "/trace.json")
asyncio.run(async function() await asyncio.sleep(0.001) end)
print("trace", asyncio.trace.stop() ~= nil)

-- two tasks handing items over a queue, as a timeline
local text = asyncio.timeline(async function()
  local q = asyncio.Queue()
  local consumer = asyncio.create_task(async function()
    for _ = 1, 2 do await q:get() end
  end, {name = "consumer"})
  for i = 1, 2 do
    await asyncio.sleep(1)
    q:put_nowait(i)
  end
  await consumer
end, {width = 30})
print("timeline", #text > 0)
