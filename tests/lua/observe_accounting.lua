-- Accounting in debug mode: asyncio.ps() gives each task its steps, its
-- CPU time and the loop time it spent waiting before those steps. Under
-- virtual time the waits are exact. A task renamed between steps keeps its
-- count (the name and the accounting share the task's record); a task not
-- started yet has none.
local _ <close> = require "clean_loop"
asyncio.run(async function()
  local ev = asyncio.Event()
  local worker = asyncio.create_task(async function()
    await asyncio.sleep(2)
    asyncio.current_task():set_name("renamed")
    await asyncio.sleep(3)
    await ev:wait()
  end, {name = "worker"})
  await asyncio.sleep(6)
  local late = asyncio.create_task(async function() end, {name = "late"})
  for _, r in ipairs(asyncio.ps()) do
    print(r.name, r.state, r.steps, string.format("waited=%.3f", r.waited), r.cpu >= 0 and r.cpu < 1)
  end
  ev:set()
  await worker
  await late
  for _, r in ipairs(asyncio.ps()) do
    print(r.name, r.state, r.steps, string.format("waited=%.3f", r.waited))
  end
end, {debug = true, virtual_time = true})
