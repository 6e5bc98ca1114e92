-- Robustness: peer resets and half-closes never kill the server; a stalled
-- reader does not grow memory (flow control on both sides); cancelling a
-- read or a drain leaves the stream usable; read and connect timeouts.
local _ <close> = require "clean_loop"
local reports = {}

asyncio.run(async function()
  local loop = asyncio.get_running_loop()
  loop:set_exception_handler(function(_, ctx)
    reports[#reports + 1] = ctx.message .. ": " .. tostring(ctx.exception)
  end)

  local served = 0
  local server = await asyncio.start_server(async function(reader, writer)
    served = served + 1
    local request = await reader:read()      -- up to the peer's end of stream
    writer:write("got " .. #request .. "\n")
    await writer:drain()
  end, "127.0.0.1", 0)
  local _, port = server.sockets[1]:getsockname()

  -- a peer that resets: it closes with unread data (the kernel sends RST)
  local r, w = await asyncio.open_connection("127.0.0.1", port)
  local echo = await asyncio.start_server(async function(reader, writer)
    while true do
      local data = await reader:read(100)
      if data == "" then break end
      writer:write(data)
      await writer:drain()
    end
  end, "127.0.0.1", 0)
  local _, eport = echo.sockets[1]:getsockname()
  local raw = asyncio.socket()
  await loop:sock_connect(raw, "127.0.0.1", eport)
  await loop:sock_sendall(raw, "unread echo")
  await asyncio.sleep(0.05)
  await loop:sock_sendall(raw, "more")
  await asyncio.sleep(0.05)
  raw:close() -- the echoes were never read: the kernel sends RST
  await asyncio.sleep(0.05)
  print("reports after reset:", #reports, reports[1] and reports[1]:match("Connection reset by peer") ~= nil)
  -- the echo server still serves
  local er, ew = await asyncio.open_connection("127.0.0.1", eport)
  ew:write("still alive")
  print(await er:read(100))
  ew:close()

  -- half-close: the request ends with write_eof, the reply still comes back
  w:write("half-closed request")
  w:write_eof()
  print(await r:readline(), served)
  print(pcall(function() w:write("late") end))
  w:close()

  -- a peer that connects and goes away at once
  local s = asyncio.socket()
  await loop:sock_connect(s, "127.0.0.1", port)
  s:close()
  r, w = await asyncio.open_connection("127.0.0.1", port)
  w:write("after the reset")
  w:write_eof()
  print(await r:readline())
  w:close()

  -- flow control: a handler that does not read; the client writes 8 MB
  local stalled = asyncio.Event()
  local server_reader
  local slow = await asyncio.start_server(async function(reader, writer)
    server_reader = reader
    await stalled:wait()
    local n = #(await reader:read())
    writer:write(tostring(n))
  end, "127.0.0.1", 0, {limit = 65536})
  local _, sport = slow.sockets[1]:getsockname()
  local sr, sw = await asyncio.open_connection("127.0.0.1", sport)
  local payload = string.rep("f", 8 * 1024 * 1024)
  sw:write(payload)
  local ok, err = pcall(function() return await asyncio.wait_for(sw:drain(), 0.3) end)
  print("drain waits:", ok, tostring(err), sw:get_write_buffer_size() > 65536)
  print("server buffer bounded:", server_reader:buffered() > 0, server_reader:buffered() <= 2 * 65536 + 65536)
  stalled:set()
  await sw:drain()
  sw:write_eof()
  print("all delivered:", await sr:read() == tostring(#payload))
  sw:close()
  slow:close()

  -- cancelling a read half way keeps what arrived; cancelling a drain keeps
  -- the data flowing
  local cr, cw = await asyncio.open_connection("127.0.0.1", eport)
  local t = asyncio.create_task(function() return await cr:readexactly(10) end)
  cw:write("12345")
  await asyncio.sleep(0.05)
  t:cancel()
  print(pcall(function() return await t end) == false, t:cancelled())
  cw:write("67890abc")
  print(await cr:readexactly(10), await cr:read(3))
  -- a drain cancelled while the peer does not read: the data still goes out
  local go = asyncio.Event()
  local sink = await asyncio.start_server(async function(reader, writer)
    await go:wait()
    writer:write(tostring(#(await reader:read())))
  end, "127.0.0.1", 0)
  local _, kport = sink.sockets[1]:getsockname()
  local kr, kw = await asyncio.open_connection("127.0.0.1", kport)
  kw:set_write_buffer_limits(0, 0)
  local big = string.rep("d", 4 * 1024 * 1024)
  kw:write(big)
  local d = asyncio.create_task(function() await kw:drain() end)
  await asyncio.sleep(0.05)
  print("drain cancelled:", d:cancel())
  print(pcall(function() await d end) == false, d:cancelled())
  go:set()
  kw:write_eof()
  print("all delivered:", await kr:read() == tostring(#big))
  kw:close()
  sink:close()
  -- another reader while one waits is refused
  local first = asyncio.create_task(function() return await cr:read(1) end)
  await asyncio.sleep(0.01)
  print(pcall(function() return await cr:read(1) end))
  cw:write("!")
  print(await first)
  cw:close()

  -- read timeout: TimeoutError, and the stream stays usable
  local tr, tw = await asyncio.open_connection("127.0.0.1", eport, {read_timeout = 0.05})
  ok, err = pcall(function() return await tr:readline() end)
  print("read timeout:", ok, asyncio.iserror(err, asyncio.TimeoutError), tostring(err))
  tw:write("after timeout\n")
  print(await tr:readline())
  tw:close()

  -- connect timeout: a listener whose backlog is full never answers
  local full = asyncio.socket()
  full:bind("127.0.0.1", 0)
  full:listen(0)
  local _, fport = full:getsockname()
  local keep = {}
  local timeouts = 0
  for i = 1, 4 do
    local w
    ok, err, w = pcall(function() return await asyncio.open_connection("127.0.0.1", fport, {connect_timeout = 0.1}) end)
    if ok then keep[#keep + 1] = w elseif asyncio.iserror(err, asyncio.TimeoutError) then timeouts = timeouts + 1 end
  end
  for _, w in ipairs(keep) do w:close() end
  print("connect timeouts:", timeouts >= 2)
  full:close()

  echo:close()
  server:close()
  await server:wait_closed()
  await echo:wait_closed()
  print("server closed, connections done:", server:active_connections(), echo:active_connections())
end)
