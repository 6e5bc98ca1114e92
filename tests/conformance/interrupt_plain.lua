-- Ctrl+C in plain Lua code that never yields, as lua5.4 handles it: the
-- running code gets the error "interrupted!" at its next instruction, which
-- pcall catches. The next Ctrl+C in the same chunk stops alua at once,
-- here in the middle of a top-level await.
local _ <close> = require "clean_loop"
local pid = io.popen("echo $PPID"):read("l")
local function interrupt_soon() os.execute("(sleep 0.1; kill -INT " .. pid .. ") &") end
interrupt_soon()
print(pcall(function() while true do end end))
print(await asyncio.create_task(function() return "the loop still works" end))
io.stdout:flush()
interrupt_soon()
await asyncio.sleep(10)
print("not reached")
