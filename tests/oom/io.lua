-- Out-of-memory sweep: datagram endpoints (an echo over loopback, a
-- queued send), name resolution on the worker pool, a raw listening socket
-- watched with add_reader, and a stream connected to it.
local raises = dofile("support/raises.lua")

asyncio.run(async function()
  local loop = asyncio.get_running_loop()

  -- UDP: an echo server for two datagrams, and a client; gathered, so
  -- that a failure of either (memory) ends the run instead of leaving the
  -- other waiting for a datagram that never comes
  local ep <close> = await asyncio.open_udp{local_host = "127.0.0.1", local_port = 0}
  local host, port = ep:getsockname()
  local client <close> = await asyncio.open_udp{remote_host = host, remote_port = port}
  local replies = await asyncio.gather(
    asyncio.create_task(function()
      for _ = 1, 2 do
        local data, from, fport = await ep:recv()
        ep:send(data:upper(), from, fport)
      end
    end),
    asyncio.create_task(function()
      local got = {}
      for _, word in ipairs{"ping", "pong"} do
        client:send(word)
        got[#got + 1] = await client:recv()
      end
      return table.concat(got, " ")
    end))
  print("udp", replies[2])

  -- a receiver cancelled while it waits
  local waiting = asyncio.create_task(function() return await ep:recv() end)
  await asyncio.sleep(0)
  waiting:cancel()
  print("cancelled", raises(asyncio.CancelledError, function() return await waiting end))

  -- names: numeric at once, a name on the worker pool
  local addrs = await asyncio.getaddrinfo("127.0.0.1", 80, {type = "stream"})
  print("numeric", addrs[1].host, addrs[1].port)
  addrs = await asyncio.getaddrinfo("localhost", 80, {family = "inet", type = "stream"})
  print("localhost", addrs[1].host)

  -- a raw listening socket watched for readability
  local sock = asyncio.socket("inet", "stream")
  sock:bind("127.0.0.1", 0)
  sock:listen()
  local _, lport = sock:getsockname()
  local ready = asyncio.Future()
  local h = loop:add_reader(sock:fileno(), function()
    if not ready:done() then ready:set_result("readable") end
  end)
  local reader, writer = await asyncio.open_connection("127.0.0.1", lport)
  print("reader", await ready)
  h:cancel()
  print("removed", loop:remove_reader(sock:fileno()))
  writer:close()
  await writer:wait_closed()
  sock:close()
end)
