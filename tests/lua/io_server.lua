-- Servers: serve_forever and its cancellation, start_serving = false, a
-- handler that fails (reported, connection closed, server unharmed), plain
-- and async handlers, several hosts, wait_closed waiting for handlers; and
-- stream misuse: operations are lazy, awaited once, closed streams.
local _ <close> = require "clean_loop"
local reports = {}

asyncio.run(async function()
  local loop = asyncio.get_running_loop()
  loop:set_exception_handler(function(_, ctx)
    reports[#reports + 1] = ctx.message .. ": " .. tostring(ctx.exception)
  end)

  -- a failing handler is reported; the connection is closed; serving goes on
  local server = await asyncio.start_server(function(reader, writer)
    local line = await reader:readline()
    if line == "fail\n" then error("handler failed", 0) end
    writer:write("ok " .. line)
  end, "127.0.0.1", 0, {start_serving = false})
  print(server:is_serving(), (tostring(server):gsub(":%d+", ":PORT")))
  server:start_serving()
  print(server:is_serving())
  local _, port = server.sockets[1]:getsockname()
  local r, w = await asyncio.open_connection("127.0.0.1", port)
  w:write("fail\n")
  print(await r:read(), r:at_eof())
  print(#reports, reports[1])
  w:close()
  r, w = await asyncio.open_connection("127.0.0.1", port)
  w:write("fine\n")
  print(await r:read())
  w:close()

  -- serve_forever until cancelled: cancelling it closes the server
  local t = asyncio.create_task(function() await server:serve_forever() end)
  await asyncio.sleep(0.01)
  print(pcall(function() await server:serve_forever() end))
  t:cancel()
  print(pcall(function() await t end) == false, server:is_serving(), #server.sockets)
  await server:wait_closed()
  print(pcall(function() await server:serve_forever() end))

  -- serve_forever returns when the server is closed by someone else
  server = await asyncio.start_server(async function(reader, writer) end, "127.0.0.1", 0)
  loop:call_later(0.02, function() server:close() end)
  await server:serve_forever()
  print("serve_forever returned", server:is_serving())

  -- wait_closed waits for the handlers still running
  local release = asyncio.Event()
  server = await asyncio.start_server(async function(reader, writer)
    await release:wait()
    writer:write("released\n")
  end, {"127.0.0.1", "127.0.0.1"}, 0)
  print("listeners:", #server.sockets)
  _, port = server.sockets[1]:getsockname()
  r, w = await asyncio.open_connection("127.0.0.1", port)
  await asyncio.sleep(0.01)
  server:close()
  local waited = asyncio.create_task(function() await server:wait_closed() return "closed" end)
  await asyncio.sleep(0.02)
  print(waited:done(), server:active_connections())
  release:set()
  print(await r:readline(), await waited)
  w:close()

  -- operations are lazy and awaited once
  server = await asyncio.start_server(async function(reader, writer)
    writer:write("abcdef")
    await writer:drain()
    await reader:read()
  end, "127.0.0.1", 0)
  _, port = server.sockets[1]:getsockname()
  r, w = await asyncio.open_connection("127.0.0.1", port)
  local op = r:read(2)
  local op2 = r:read(3)
  print(tostring(op), rawequal(op, op2))
  print(await op2, await op)
  print(pcall(function() return await op end))
  print(tostring(w:drain()), tostring(w:wait_closed()))
  print(pcall(function() return await r:read(1) end))

  -- closed streams
  w:close()
  w:close()
  await w:wait_closed()
  print(await r:read(), r:at_eof())
  print(pcall(function() w:write("x") end))
  print(pcall(function() return await w:drain() end))
  print(pcall(function() w:write_eof() end))
  print(w:can_write_eof(), w:is_closing(), w:get_extra_info("peername"))
  -- <close> scopes
  do
    local r2, w2 <close> = await asyncio.open_connection("127.0.0.1", port)
    w2:write("bye")
  end
  server:close()
  print(#reports)
end)
