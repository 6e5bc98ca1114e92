-- asyncio.timeline(fn): fn runs on virtual time as the task 'main'; the
-- text has one row per task, fitted to the width asked for.
local _ <close> = require "clean_loop"
async function chore(name, seconds)
  await(asyncio.sleep(seconds))
  print(name .. " done at " .. asyncio.get_running_loop():time())
  return name
end

async function chores()
  local tasks = {}
  for _, c in ipairs({{"laundry", 3}, {"rice", 2}, {"sweeping", 1}}) do
    tasks[#tasks + 1] = asyncio.create_task(chore, c[1], c[2], {name = c[1]})
  end
  return await(asyncio.gather(table.unpack(tasks)))
end

local text, results = asyncio.timeline(chores, {width = 60})
print(text)
print(results[1], results[2], results[3])
print()
print((asyncio.timeline(chores, {width = 40})))
print()

-- locks, queues, callbacks, and how tasks end
async function kitchen()
  local stove, orders = asyncio.Lock(), asyncio.Queue()
  local loop = asyncio.get_running_loop()
  loop:call_later(0.5, function() orders:put_nowait("soup") end)
  local cook = asyncio.create_task(async function()
    local dish = await(orders:get())
    local g <close> = await(stove:acquire())
    await(asyncio.sleep(2))
  end, {name = "cook"})
  local helper = asyncio.create_task(async function()
    await(asyncio.sleep(1))
    local g <close> = await(stove:acquire())
    await(asyncio.sleep(0.5))
    error("burnt")
  end, {name = "helper"})
  local idle = asyncio.create_task(async function() await(asyncio.sleep(10)) end, {name = "idle"})
  await(asyncio.sleep(0.25))
  local late = asyncio.create_task(async function() await(asyncio.sleep(5)) end, {name = "late"})
  await(asyncio.sleep(0.25))
  late:cancel()
  await(asyncio.gather(cook, helper, {return_exceptions = true}))
end
print((asyncio.timeline(kitchen, {width = 72})))

-- inside a running task, the timeline records the current loop
asyncio.run(async function()
  print((asyncio.timeline(async function()
    await(asyncio.gather(asyncio.sleep(1), asyncio.create_task(async function() await(asyncio.sleep(2)) end,
      {name = "two"})))
  end, {width = 50})))
end, {virtual_time = true})

print(pcall(asyncio.timeline, 42))
print(pcall(asyncio.timeline, chores, {width = 5}))

-- a plain function is called as it is: a whole program, whose loops run on
-- virtual time (asyncio.run's too)
print((asyncio.timeline(function()
  asyncio.run(async function()
    local t = asyncio.create_task(async function() await(asyncio.sleep(2)) end, {name = "worker"})
    await(asyncio.sleep(1))
    await(t)
    print("program done at", asyncio.get_running_loop():time())
  end)
end, {width = 50})))
print(asyncio.get_event_loop():is_virtual_time())
