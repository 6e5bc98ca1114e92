-- Ctrl+C under loop:run_until_complete and loop:run_forever, without
-- asyncio.run: run_until_complete cancels the task it runs and raises
-- KeyboardInterrupt once it has ended; run_forever stops and raises it.
local _ <close> = require "clean_loop"
local pid = io.popen("echo $PPID"):read("l")
local function interrupt_later(loop) loop:call_later(0.05, function() io.popen("kill -INT " .. pid):close() end) end

local loop = asyncio.new_event_loop()
interrupt_later(loop)
local ok, e = pcall(loop.run_forever, loop)
print("run_forever:", ok, e)
loop:close()

-- a fresh chunk, so that this Ctrl+C is a first one again
local alua = arg[-1]
local script = [[
local pid = io.popen("echo $PPID"):read("l")
local loop = asyncio.new_event_loop()
loop:call_later(0.05, function() io.popen("kill -INT " .. pid):close() end)
local main = asyncio.async(function()
  local ok, e = pcall(asyncio.await, asyncio.sleep(10))
  print("main saw:", e)
  error(e, 0)
end)
local t = loop:create_task(main())
print("run_until_complete:", pcall(loop.run_until_complete, loop, t))
print(t:cancelled())
]]
local f = io.popen(alua .. " -e '" .. script .. "'; echo status $?")
io.write(f:read("a"))
f:close()
