-- asyncio.print_ps(): what each task waits on, for every kind of wait, as a
-- tree of awaiting tasks (virtual time, so the times are exact).
local _ <close> = require "clean_loop"
local lock, sem = asyncio.Lock(), asyncio.Semaphore(0)
local q, full = asyncio.Queue(), asyncio.Queue(1)
local ev, cond, barrier = asyncio.Event(), asyncio.Condition(), asyncio.Barrier(3)

async function holder()
  local g <close> = await(lock:acquire())
  await(asyncio.sleep(5))
end

async function main()
  local loop = asyncio.get_running_loop()
  local fut = loop:create_future()
  full:put_nowait("x")
  local tasks = {
    asyncio.create_task(holder, {name = "holder"}),
    asyncio.create_task(async function() local g <close> = await(lock:acquire()) end, {name = "locker"}),
    asyncio.create_task(async function() await(sem:acquire()) end, {name = "sem"}),
    asyncio.create_task(async function() await(q:get()) end, {name = "getter"}),
    asyncio.create_task(async function() await(full:put("y")) end, {name = "putter"}),
    asyncio.create_task(async function() await(full:join()) end, {name = "joiner"}),
    asyncio.create_task(async function() await(ev:wait()) end, {name = "event"}),
    asyncio.create_task(async function()
      local g <close> = await(cond:acquire())
      await(cond:wait())
    end, {name = "condition"}),
    asyncio.create_task(async function() await(barrier:wait()) end, {name = "barrier"}),
    asyncio.create_task(async function() await(fut) end, {name = "future"}),
    asyncio.create_task(async function() await(asyncio.sleep(math.huge)) end, {name = "forever"}),
  }
  local child = asyncio.create_task(async function() await(asyncio.sleep(2)) end, {name = "child"})
  local parent = asyncio.create_task(async function() await(child) end, {name = "parent"})
  local g1 = asyncio.create_task(async function() await(asyncio.sleep(3)) end, {name = "g1"})
  local g2 = asyncio.create_task(async function() await(ev:wait()) end, {name = "g2"})
  local gatherer = asyncio.create_task(async function() await(asyncio.gather(g1, g2)) end, {name = "gatherer"})
  await(asyncio.sleep(1))
  asyncio.print_ps()
  print()
  -- a record, as asyncio.ps() returns it
  for _, r in ipairs(asyncio.ps()) do
    if r.name == "locker" then
      print(r.name, r.state, r.where, r.kind, r.holder == tasks[1], r.object == lock, r.since)
    elseif r.name == "child" then
      print(r.name, #r.awaited_by, r.awaited_by[1] == parent)
    elseif r.name == "gatherer" then
      print(r.name, #r.awaits, r.awaits[1] == g1, r.awaits[2] == g2)
    end
  end
  for _, t in ipairs(tasks) do t:cancel() end
  parent:cancel()
  gatherer:cancel()
  ev:set()
end

asyncio.run(main, {virtual_time = true})

-- a lock whose holder ended without releasing it
asyncio.run(async function()
  local lock = asyncio.Lock()
  await(asyncio.create_task(async function() await(lock:acquire()) end, {name = "forgetful"}))
  local w = asyncio.create_task(async function() await(lock:acquire()) end, {name = "hopeful"})
  await(asyncio.sleep(1))
  asyncio.print_ps()
  w:cancel()
end, {virtual_time = true})
