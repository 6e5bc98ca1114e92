-- internals.loop_report: what a loop holds while open and what it left
-- behind when it closed; and the check every test ends with
-- (tests/lua/support/clean_loop.lua), which fails loudly listing it all.
local _ <close> = require "clean_loop"
local loop_report = debug.getregistry()["alua.internals"].loop_report

local function show(title, list)
  print(title .. ":")
  for _, item in ipairs(list) do print("", (item:gsub("0x%x+", "0xADDR"))) end
end

local loop = asyncio.new_event_loop()
show("new loop", loop_report(loop))
loop:close()
show("closed clean", loop_report(loop))

loop = asyncio.new_event_loop()
local server
loop:run_until_complete(async function()
  asyncio.create_task(async function() await asyncio.sleep(10) end, {name = "sleeper"})
  loop:call_at(1e9, print)
  server = await asyncio.start_server(function() end, "127.0.0.1", 0, {start_serving = false})
  local _, port = server.sockets[1]:getsockname()
  local reader, writer = await asyncio.open_connection("127.0.0.1", port)
end)
show("open, with work left", loop_report(loop))
loop:close()
show("closed with work left", loop_report(loop))
-- closing them now changes nothing: the record is what close found
server:close()
show("still", loop_report(loop))
print("bad argument:", pcall(loop_report, 42))
-- the end of the chunk: the check lists every loop's leftovers and fails
