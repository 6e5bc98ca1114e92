-- What keeps a script running after its main chunk (SPEC 2.2), as in
-- Node: unfinished tasks, pending call_soon / call_later / call_at
-- handles, serving servers and add_reader / add_writer watchers. x:unref()
-- lets the script end without waiting for x (x:ref() undoes it); signal
-- handlers alone never keep it running. Each case is a script of its own.
local _ <close> = require "clean_loop"
local alua = arg[-1]

local function run(name, script)
  local f = io.popen("timeout 20 " .. alua .. " -e '" .. script .. "' 2>&1; echo \"status $?\"")
  local out = f:read("a"):gsub("\n", " ")
  f:close()
  print(name .. ": " .. out)
end

run("call_later", [[asyncio.get_event_loop():call_later(0.05, print, "x")]])
run("call_soon chain", [[
local loop = asyncio.get_event_loop()
loop:call_soon(function() loop:call_at(loop:time() + 0.02, print, "at") end)]])
run("unref", [[
local h = asyncio.get_event_loop():call_later(10, print, "never")
print(h:unref() == h)]])
run("ref again", [[
local h = asyncio.get_event_loop():call_later(0.02, print, "kept")
h:unref():ref()]])
run("cancelled", [[asyncio.get_event_loop():call_later(10, print, "never"):cancel()]])
run("signal handler alone", [[
asyncio.get_event_loop():add_signal_handler(asyncio.SIGUSR1, print, "never")
print("end of chunk")]])
run("reader", [[
local loop = asyncio.get_event_loop()
local s = asyncio.socket()
s:bind("127.0.0.1", 0)
s:listen()
local port = select(2, s:getsockname())
loop:add_reader(s:fileno(), function()
  print("connection waiting")
  loop:remove_reader(s:fileno())
end)
loop:call_later(0.02, function()
  asyncio.create_task(async function() await asyncio.open_connection("127.0.0.1", port) end)
end)]])
run("reader unref", [[
local s = asyncio.socket()
s:bind("127.0.0.1", 0)
s:listen()
asyncio.get_event_loop():add_reader(s:fileno(), print):unref()
print("end of chunk")]])
run("server", [[
local server = await asyncio.start_server(function() end, "127.0.0.1", 0)
asyncio.get_event_loop():call_later(0.02, function() print("closing") server:close() end)]])
run("server unref", [[
local server = await asyncio.start_server(function() end, "127.0.0.1", 0)
server:unref()
print("end of chunk")]])
