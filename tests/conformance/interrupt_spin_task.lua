-- Ctrl+C while a task other than the main one never yields: once it has
-- held the loop for half a second it is cancelled where it is; the main
-- task is cancelled as soon as the loop runs again, and asyncio.run raises
-- KeyboardInterrupt after the cleanup of both.
local _ <close> = require "clean_loop"
local pid = io.popen("echo $PPID"):read("l")

async function main()
  local _ <close> = setmetatable({}, {__close = function(_, e) print("main cleanup:", e) end})
  local spinner = asyncio.create_task(function()
    local _ <close> = setmetatable({}, {__close = function(_, e) print("spinner cleanup:", e) end})
    os.execute("(sleep 0.1; kill -INT " .. pid .. ") &")
    while true do end
  end)
  await asyncio.sleep(10)
end

asyncio.run(main)
