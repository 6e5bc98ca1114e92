-- A second Ctrl+C stops the process at once, even when main ignores the
-- cancellation the first one caused.
local _ <close> = require "clean_loop"
local pid = io.popen("echo $PPID"):read("l")
local function interrupt_self() io.popen("kill -INT " .. pid):close() end

async function main()
  interrupt_self()
  local ok, e = pcall(asyncio.await, asyncio.sleep(10))
  print("first Ctrl+C ignored:", tostring(e))
  io.stdout:flush()
  interrupt_self()
  await asyncio.sleep(10)
  print("not reached")
end

asyncio.run(main)
