-- Out-of-memory sweep: signal handlers (added, called with arguments,
-- replaced, removed) and Ctrl+C: a SIGINT that cancels the main task of
-- asyncio.run, which then raises KeyboardInterrupt. The script signals
-- itself with kill(1) (through io.popen: os.execute's system(3) ignores
-- SIGINT while the command runs); a signal whose handler never runs ends
-- the wait with a timeout rather than a hang.
local pid = io.open("/proc/self/stat"):read("n")
local function kill(name) io.popen("kill -" .. name .. " " .. pid):close() end

asyncio.run(async function()
  local loop = asyncio.get_running_loop()
  local got = asyncio.Future()
  loop:add_signal_handler(asyncio.SIGUSR1, function(a, b) got:set_result(a .. b) end, "usr", 1)
  kill("USR1")
  print("handler", await asyncio.wait_for(got, 5))
  local again = asyncio.Future()
  loop:add_signal_handler(asyncio.SIGUSR1, function() again:set_result("replaced") end)
  kill("USR1")
  print("handler", await asyncio.wait_for(again, 5))
  print("removed", loop:remove_signal_handler(asyncio.SIGUSR1), loop:remove_signal_handler(asyncio.SIGUSR1))
end)

local ok, err = pcall(asyncio.run, async function()
  local _ <close> = setmetatable({}, {__close = function() print("cleanup") end})
  asyncio.create_task(async function()
    await asyncio.sleep(0)
    kill("INT")
  end)
  await asyncio.sleep(5)
end)
if ok or not asyncio.iserror(err, asyncio.KeyboardInterrupt) then error(ok and "no interrupt" or err, 0) end
print("interrupted", err.type)
