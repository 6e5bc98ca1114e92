-- server:close_clients() and server:abort_clients() (asyncio 3.13): close
-- or abort every connection the server accepted that is still open, its
-- handler running or not; neither stops listening. CPython's
-- test_server.py: test_close_clients, test_abort_clients.
local _ <close> = require "clean_loop"

-- Writes to writer until some of it waits in its buffer (the peer does not
-- read); returns how many bytes were written.
local function fill(writer)
  local chunk, n = string.rep("a", 65536), 0
  repeat
    writer:write(chunk)
    n = n + #chunk
  until writer:get_write_buffer_size() > 0
  return n
end

asyncio.run(async function()
  -- test_close_clients: handlers blocked in read() see the end of the
  -- stream, finish, and wait_closed returns
  local server = await asyncio.start_server(async function(reader, writer)
    local data = await reader:read()
    print("handler read", #data, "closing:", writer:is_closing())
    writer:close()
    await writer:wait_closed()
  end, "127.0.0.1", 0)
  local _, port = server.sockets[1]:getsockname()
  local r1, w1 = await asyncio.open_connection("127.0.0.1", port)
  local r2, w2 = await asyncio.open_connection("127.0.0.1", port)
  w1:write("hello")
  await asyncio.sleep(0.01)
  print("active:", server:active_connections())
  local task = asyncio.create_task(function() await server:wait_closed() end)
  await asyncio.sleep(0)
  print("wait_closed done:", task:done())
  server:close()
  server:close_clients()
  await asyncio.wait_for(task, 5)
  print("wait_closed done:", task:done(), "active:", server:active_connections())
  print("client sees:", #(await r1:read()), #(await r2:read()))
  w1:close()
  w2:close()

  -- close_clients sends what is queued first, and the server keeps serving
  local written = asyncio.Future()
  server = await asyncio.start_server(async function(reader, writer)
    if await reader:read(5) == "bulk\n" then
      written:set_result(fill(writer))
      print("bulk handler read:", #(await reader:read()))
    else
      writer:write("still serving\n")
    end
  end, "127.0.0.1", 0)
  _, port = server.sockets[1]:getsockname()
  local r, w = await asyncio.open_connection("127.0.0.1", port)
  w:write("bulk\n")
  local n = await written
  server:close_clients()
  print("after close_clients: serving", server:is_serving())
  local got = await r:read()
  print("close_clients delivered everything:", #got == n, r:at_eof())
  w:close()
  r, w = await asyncio.open_connection("127.0.0.1", port)
  w:write("next\n")
  print(await r:readline())
  w:close()
  server:close_clients() -- nothing open: nothing to do
  server:close()
  await server:wait_closed()

  -- test_abort_clients: what is queued is dropped; a handler waiting in
  -- wait_closed returns
  written = asyncio.Future()
  server = await asyncio.start_server(async function(reader, writer)
    written:set_result(fill(writer))
    await writer:wait_closed()
    print("aborted handler: closing", writer:is_closing(), "buffered", writer:get_write_buffer_size())
  end, "127.0.0.1", 0)
  _, port = server.sockets[1]:getsockname()
  r, w = await asyncio.open_connection("127.0.0.1", port)
  n = await written
  task = asyncio.create_task(function() await server:wait_closed() end)
  await asyncio.sleep(0)
  server:close()
  server:abort_clients()
  await asyncio.wait_for(task, 5)
  got = await r:read()
  print("abort_clients dropped the rest:", #got < n, r:at_eof())
  w:close()

  -- a connection whose handler has returned but which is still sending is
  -- open too: abort_clients reaches it
  written = asyncio.Future()
  server = await asyncio.start_server(async function(reader, writer)
    written:set_result(fill(writer))
  end, "127.0.0.1", 0)
  _, port = server.sockets[1]:getsockname()
  r, w = await asyncio.open_connection("127.0.0.1", port)
  n = await written
  while server:active_connections() > 0 do await asyncio.sleep(0) end
  server:abort_clients()
  got = await r:read()
  print("finished handler's stream aborted:", #got < n, r:at_eof())
  w:close()
  server:close()
  await server:wait_closed()

  print(pcall(function() server.close_clients() end))
  print(pcall(function() server.abort_clients({}) end))
end)
