-- Timeouts under virtual time fire at their exact deadlines: wait_for,
-- timeout scopes (moved with reschedule), timeout_at, wait and
-- as_completed with a timeout, and a lock and a queue waited on with one.
local _ <close> = require "clean_loop"
local function fmt(t) return string.format("%.3f", t) end

asyncio.run(async function()
  local loop = asyncio.get_running_loop()
  local function try(label, fn)
    local t = loop:time()
    local ok, err = pcall(fn)
    print(label, ok and "ok" or tostring(err.type or err), "after " .. fmt(loop:time() - t))
  end

  try("wait_for 2.5", function() await asyncio.wait_for(asyncio.sleep(60), 2.5) end)
  try("wait_for in time", function() assert(await asyncio.wait_for(asyncio.sleep(1, "v"), 2.5) == "v") end)
  try("timeout 0.25", function()
    local _ <close> = asyncio.timeout(0.25)
    await asyncio.sleep(1)
  end)
  try("timeout moved", function()
    local cm <close> = asyncio.timeout(10)
    await asyncio.sleep(1)
    cm:reschedule(loop:time() + 30)
    await asyncio.sleep(3600)
  end)
  try("timeout_at", function()
    local _ <close> = asyncio.timeout_at(loop:time() + 42)
    await asyncio.Event():wait()
  end)
  try("timeout_at in the past", function()
    local _ <close> = asyncio.timeout_at(loop:time() - 1)
    await asyncio.sleep(5)
  end)

  local t = loop:time()
  local done, pending = await asyncio.wait({asyncio.sleep(3), asyncio.sleep(300)}, {timeout = 60})
  print("wait timeout 60", #done, #pending, "after " .. fmt(loop:time() - t))
  for _, f in ipairs(pending) do f:cancel() end

  t = loop:time()
  local got = {}
  try("as_completed timeout 20", function()
    for aw in asyncio.as_completed({asyncio.sleep(30, "c"), asyncio.sleep(10, "a"), asyncio.sleep(15, "b")}, {timeout = 20}) do
      got[#got + 1] = (await aw) .. "@" .. fmt(loop:time() - t)
    end
  end)
  print("as_completed got", table.concat(got, " "))

  local lock = asyncio.Lock()
  await lock:acquire()
  try("lock with timeout 7", function() await asyncio.wait_for(lock:acquire(), 7) end)
  lock:release()
  local q = asyncio.Queue()
  try("queue get with timeout 0.5", function() await asyncio.wait_for(q:get(), 0.5) end)
  print("total", fmt(loop:time()))
end, {virtual_time = true})
