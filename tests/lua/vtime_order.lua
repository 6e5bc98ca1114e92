-- Virtual time keeps real time's order: one scenario of sleeps, timers,
-- wait_for, timeout scopes and as_completed runs on a real loop (0.1 s
-- units) and on a virtual one (1 s units), and logs the same events at the
-- same unit counts; equal deadlines fire in the order they were scheduled.
local _ <close> = require "clean_loop"
local function scenario(loop, u)
  local t0 = loop:time()
  local log = {}
  local function note(what)
    -- a real clock reads its deadline or a moment later, never earlier
    log[#log + 1] = string.format("%s@%d", what, math.floor((loop:time() - t0) / u + 1e-9))
  end
  local jobs = {}
  local function spawn(fn) jobs[#jobs + 1] = asyncio.create_task(fn) end
  for _, name in ipairs({"a", "b", "c", "d", "e"}) do
    spawn(async function()
      await asyncio.sleep(2 * u)
      note("sleep " .. name)
    end)
  end
  for _, name in ipairs({"x", "y", "z"}) do
    loop:call_later(3 * u, note, "call_later " .. name)
  end
  spawn(async function()
    local ok, err = pcall(function() return await asyncio.wait_for(asyncio.sleep(10 * u), 4 * u) end)
    note("wait_for " .. tostring(err.type))
  end)
  spawn(async function()
    local ok = pcall(function()
      local _ <close> = asyncio.timeout(5 * u)
      await asyncio.sleep(10 * u)
    end)
    note("timeout scope " .. tostring(ok))
  end)
  spawn(async function()
    for aw in asyncio.as_completed({asyncio.sleep(7 * u, "slow"), asyncio.sleep(6 * u, "fast")}) do
      note("as_completed " .. await aw)
    end
  end)
  spawn(async function()
    local ok = pcall(function()
      local _ <close> = asyncio.timeout_at(t0 + 8 * u)
      await asyncio.Event():wait()
    end)
    note("timeout_at " .. tostring(ok))
  end)
  await asyncio.gather(table.unpack(jobs))
  note("end")
  return log
end

local virtual = asyncio.run(function()
  return scenario(asyncio.get_running_loop(), 1)
end, {virtual_time = true})
print(table.concat(virtual, "\n"))

local real = asyncio.run(function()
  return scenario(asyncio.get_running_loop(), 0.1)
end)
local same = table.concat(real, "\n") == table.concat(virtual, "\n")
print("real time logs the same:", same)
if not same then print(table.concat(real, "\n")) end

-- many timers with one deadline: the order they were scheduled in
asyncio.run(async function()
  local loop = asyncio.get_running_loop()
  local order, when = {}, loop:time() + 5
  local done = loop:create_future()
  for i = 1, 100 do
    loop:call_at(when, function()
      order[#order + 1] = i
      if i == 100 then done:set_result() end
    end)
  end
  -- and tasks sleeping the same amount, started in one pass
  local tasks = {}
  for i = 1, 50 do
    tasks[i] = asyncio.create_task(async function()
      await asyncio.sleep(5)
      order[#order + 1] = 100 + i
    end)
  end
  await done
  await asyncio.gather(table.unpack(tasks))
  local inorder = #order == 150
  for i = 1, #order do inorder = inorder and order[i] == i end
  print("150 callbacks due at one instant ran in order:", inorder, loop:time())
end, {virtual_time = true})
