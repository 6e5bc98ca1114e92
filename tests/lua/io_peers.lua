-- A server survives its peers, and serves the others meanwhile: one that
-- sends an endless line (readline raises LimitOverrunError and drops what
-- came; the buffer stays bounded while the flood goes on), one that stalls
-- half way through a request (read_timeout ends it), one that never reads
-- what it is sent (the handler waits in drain with a bounded write buffer)
-- and then resets. And a connection whose handler task is cancelled before
-- its first step is still closed and counted done.
local _ <close> = require "clean_loop"
local LIMIT = 4096
local reports = {}

asyncio.run(async function()
  local loop = asyncio.get_running_loop()
  loop:set_exception_handler(function(_, ctx)
    reports[#reports + 1] = ctx.exception
  end)

  local overruns, most_queued = 0, 0
  local readers, events = {}, {}
  local server = await asyncio.start_server(async function(reader, writer)
    readers[#readers + 1] = reader
    while true do
      local ok, line = pcall(function() return await reader:readline() end)
      if not ok then
        if not asyncio.iserror(line, asyncio.LimitOverrunError) then
          events[#events + 1] = line.type
          break
        end
        overruns = overruns + 1
      elseif line == "" then
        break
      elseif line == "flood me\n" then
        -- a reply far bigger than what the kernel's buffers hold
        local chunk = string.rep("z", 65536)
        for _ = 1, 256 do
          writer:write(chunk)
          most_queued = math.max(most_queued, writer:get_write_buffer_size())
          await writer:drain()
        end
      else
        writer:write(#line .. " bytes, ending " .. line:sub(-6))
        await writer:drain()
      end
    end
    writer:close()
  end, "127.0.0.1", 0, {limit = LIMIT, read_timeout = 0.5})
  local _, port = server.sockets[1]:getsockname()

  -- another client, served whatever the others do
  local async function request(text)
    local r, w <close> = await asyncio.open_connection("127.0.0.1", port)
    w:write(text .. "\n")
    return await r:readline()
  end

  -- the endless line: 4 MB without a newline, then one, then a short line;
  -- meanwhile the server's buffer for it is watched
  local r, w = await asyncio.open_connection("127.0.0.1", port)
  local most_buffered = 0
  local watch = asyncio.create_task(async function()
    while true do
      if readers[1] then most_buffered = math.max(most_buffered, readers[1]:buffered()) end
      await asyncio.sleep(0)
    end
  end)
  local chunk = string.rep("x", 65536)
  for i = 1, 64 do
    w:write(chunk)
    await w:drain()
    if i == 32 then print("served during the flood:", await request("ping")) end
  end
  w:write("\nafter the flood\n")
  -- the rest of the x's may come back as a line of its own first
  local reply
  repeat reply = await r:readline() until reply == "" or reply:find("flood")
  print("the line after the flood:", reply)
  watch:cancel()
  print("overruns:", overruns > 0, "buffer bounded:", most_buffered > 0 and most_buffered <= 4 * 65536)
  w:close()

  -- a stalled peer: half a request, then nothing; the others are served,
  -- and the read timeout ends it
  local sr, sw = await asyncio.open_connection("127.0.0.1", port)
  sw:write("half a requ")
  await asyncio.sleep(0.1)
  print("served during the stall:", await request("pong"))
  print("the stalled peer is let go:", await sr:read() == "")
  sw:close()

  -- a peer that never reads: the handler waits in drain, bounded
  local nr, nw = await asyncio.open_connection("127.0.0.1", port)
  nw:write("flood me\n")
  await asyncio.sleep(0.2)
  print("served while one does not read:", await request("still here"))
  print("write buffer bounded:", most_queued > 0 and most_queued <= 2 * 65536)
  -- it closes with unread data (the kernel sends a reset): the handler's
  -- drain fails and is reported, the server goes on
  nw:close()
  await asyncio.sleep(0.2)
  print("served after the reset:", await request("last"))

  server:close()
  await server:wait_closed()
  print("handlers ended by:", table.concat(events, ", "))
  print("reports:", #reports, asyncio.iserror(reports[1], asyncio.ConnectionError))

  -- a handler task cancelled before its first step: a callback that runs
  -- every pass cancels it as soon as the accept made it
  local handled = 0
  server = await asyncio.start_server(function() handled = handled + 1 end, "127.0.0.1", 0)
  _, port = server.sockets[1]:getsockname()
  local seen = {[asyncio.current_task()] = true}
  local victim
  local function probe()
    for _, t in ipairs(asyncio.all_tasks()) do
      if not seen[t] then victim = t; t:cancel() end
    end
    if not victim then loop:call_soon(probe) end
  end
  loop:call_soon(probe)
  r, w = await asyncio.open_connection("127.0.0.1", port)
  while not victim do await asyncio.sleep(0) end
  await asyncio.sleep(0)
  print("handler ran:", handled, "cancelled before its first step:", victim:cancelled())
  print("the connection ends:", await asyncio.wait_for(r:read(), 2) == "", "active:", server:active_connections())
  w:close()
  server:close()
  await server:wait_closed()
end)
