-- Ctrl+C while main waits in asyncio.wait: the main task is cancelled, its
-- cleanup runs, and run raises KeyboardInterrupt (alua exits with 130).
local _ <close> = require "clean_loop"
local pid = io.popen("echo $PPID"):read("l")
local function interrupt_self() io.popen("kill -INT " .. pid):close() end

async function main()
  local _ <close> = setmetatable({}, {__close = function(_, e) print("main cleanup:", e) end})
  local worker = asyncio.create_task(async function()
    local ok, e = pcall(asyncio.await, asyncio.sleep(10))
    print("worker:", e)
    error(e, 0)
  end)
  asyncio.create_task(async function() await asyncio.sleep(0.01); interrupt_self() end)
  await asyncio.wait({worker})
  print("not reached")
end

asyncio.run(main)
print("not reached either")
