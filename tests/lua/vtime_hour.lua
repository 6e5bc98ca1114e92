-- Virtual time: an hour of sleeps takes no real time, and every loop:time()
-- reading is the one real time would give, exactly.
local _ <close> = require "clean_loop"
local wall = asyncio.new_event_loop() -- a real clock, to measure the run
local w0 = wall:time()

local function fmt(t) return string.format("%.3f", t) end

asyncio.run(async function()
  local loop = asyncio.get_running_loop()
  print("virtual:", loop:is_virtual_time(), "starts at", fmt(loop:time()))

  local function worker(name, delay, times)
    return asyncio.create_task(async function()
      for i = 1, times do
        await asyncio.sleep(delay)
        print(name, i, fmt(loop:time()))
      end
      return name
    end)
  end
  -- 30 min + 20 min + 10 min of sleeps per worker, running side by side
  local a = worker("a", 900, 2)
  local b = worker("b", 600, 2)
  local c = worker("c", 300, 2)
  print("gathered:", table.concat(await asyncio.gather(a, b, c), " "), fmt(loop:time()))

  -- sleeps in a row add up to the hour
  for _ = 1, 6 do await asyncio.sleep(300) end
  print("after an hour:", fmt(loop:time()))

  -- sleep(0) and a tiny sleep keep their exact sizes
  local t = loop:time()
  await asyncio.sleep(0)
  await asyncio.sleep(0.001)
  print("sleep(0) + sleep(0.001):", fmt(loop:time() - t))

  -- call_later / call_at on the same clock
  local done = loop:create_future()
  loop:call_later(1.5, function() print("call_later 1.5 at", fmt(loop:time())) end)
  loop:call_at(loop:time() + 2.5, function()
    print("call_at +2.5 at", fmt(loop:time()))
    done:set_result(true)
  end)
  await done
end, {virtual_time = true})

local took = wall:time() - w0
print("wall time under a second:", took < 1 or took)
wall:close()
