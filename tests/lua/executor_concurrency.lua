-- Blocking work runs on worker threads: the loop keeps ticking while four
-- workers block at once, and the four run side by side.
local _ <close> = require "clean_loop"
local loop_ticks = 0
local running = true

local async function ticker()
  while running do
    await asyncio.sleep(0.01)
    loop_ticks = loop_ticks + 1
  end
end

local function block(i)
  os.execute("sleep 0.3")
  return i * 10
end

asyncio.run(async function()
  local loop = asyncio.get_running_loop()
  local t = asyncio.create_task(ticker())
  local start = loop:time()
  local results = await asyncio.gather(
    asyncio.to_thread(block, 1),
    asyncio.to_thread(block, 2),
    loop:run_in_executor(nil, block, 3),
    loop:run_in_executor(nil, block, 4))
  local elapsed = loop:time() - start
  running = false
  await t
  print("results:", table.concat(results, " "))
  -- one after the other they would take 1.2 s at least
  print("side by side:", elapsed >= 0.3 and elapsed < 1.2)
  -- the loop ran while the workers blocked (about 30 ticks when idle)
  print("the loop kept ticking:", loop_ticks >= 10)
end)
