-- Ctrl+C while the main task runs a loop that never awaits: its
-- cancellation is raised inside it (after it held the loop for half a
-- second without reaching an await), its cleanup runs, and asyncio.run
-- raises KeyboardInterrupt.
local _ <close> = require "clean_loop"
local pid = io.popen("echo $PPID"):read("l")

async function main()
  local _ <close> = setmetatable({}, {__close = function(_, e) print("cleanup:", e) end})
  os.execute("(sleep 0.1; kill -INT " .. pid .. ") &")
  while true do end
end

local ok, e = pcall(asyncio.run, main)
print(ok, e, asyncio.iserror(e, asyncio.KeyboardInterrupt))
