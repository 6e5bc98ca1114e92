-- Ctrl+C of a main task that is already being cancelled: no
-- KeyboardInterrupt, the CancelledError stands (as in asyncio).
local _ <close> = require "clean_loop"
local pid = io.popen("echo $PPID"):read("l")

async function main()
  local me = asyncio.current_task()
  asyncio.create_task(async function()
    await asyncio.sleep(0)
    me:cancel()
    io.popen("kill -INT " .. pid):close()
  end)
  await asyncio.sleep(10)
end

local ok, e = pcall(asyncio.run, main)
print(ok, tostring(e), asyncio.iserror(e, asyncio.KeyboardInterrupt))
