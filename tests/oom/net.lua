-- Out-of-memory sweep: a TCP server and clients on loopback, the stream
-- reading methods, flow control and a read timeout.
local raises = dofile("support/raises.lua")

asyncio.run(async function()
  local server = await asyncio.start_server(async function(reader, writer)
    while true do
      local line = await reader:readline()
      if line == "" then break end
      writer:write(line)
      await writer:drain()
    end
    writer:close()
  end, "127.0.0.1", 0)
  local _, port = server.sockets[1]:getsockname()

  local r, w = await asyncio.open_connection("127.0.0.1", port)
  w:write("one\n")
  print("readline", await r:readline())
  w:writelines({"two", "||", "three\n"})
  print("readuntil", await r:readuntil("||"), await r:readexactly(6))
  w:write(string.rep("x", 50000) .. "\n")
  await w:drain()
  print("big", #(await r:readline()))
  w:write_eof()
  print("eof", await r:read(), r:at_eof())
  w:close()
  await w:wait_closed()

  -- several clients at once
  local async function client(i)
    local cr, cw <close> = await asyncio.open_connection("127.0.0.1", port)
    cw:write("client " .. i .. "\n")
    return await cr:readline()
  end
  local got = await asyncio.gather(client(1), client(2), client(3))
  print("clients", got[1], got[2], got[3])

  -- a read that times out
  local tr, tw = await asyncio.open_connection("127.0.0.1", port, {read_timeout = 0.01})
  print("read timeout", raises(asyncio.TimeoutError, function() return await tr:readline() end))
  tw:close()

  -- UDP
  local u = await asyncio.open_udp{local_host = "127.0.0.1", local_port = 0}
  local uhost, uport = u:getsockname()
  local c = await asyncio.open_udp{local_host = "127.0.0.1"}
  c:send("datagram", uhost, uport)
  print("udp", (await u:recv()))
  u:close()
  c:close()
  server:close()
  await server:wait_closed()
end)
