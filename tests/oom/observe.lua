-- Out-of-memory sweep: debug mode's accounting, asyncio.ps() and a
-- recorded timeline.
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
  print(#recs, recs[2].name, recs[2].steps)
  ev:set()
  await worker
  print("done")
end, {debug = true})

-- a recording: the timeline of two tasks handing items over a queue
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
print(#text > 0)
