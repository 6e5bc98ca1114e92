-- UDP endpoints: round trips, a connected endpoint, many datagrams in
-- order, several receivers, a cancelled recv, Unix datagrams, errors.
local _ <close> = require "clean_loop"
asyncio.run(async function()
  local server = await asyncio.open_udp{local_host = "127.0.0.1", local_port = 0}
  local host, port = server:getsockname()
  print(host, port > 0, (tostring(server):gsub(":%d+", ":PORT")))
  local echo = asyncio.create_task(async function()
    while true do
      local data, h, p = await server:recv()
      if data == "stop" then break end
      server:send(data:upper(), h, p)
    end
  end)

  -- an unconnected client names the peer for each datagram
  local client = await asyncio.open_udp{local_host = "127.0.0.1"}
  client:send("hello", "127.0.0.1", port)
  local data, h, p = await client:recv()
  print(data, h, p == port)

  -- a connected client needs no address
  local conn <close> = await asyncio.open_udp{remote_host = "127.0.0.1", remote_port = port}
  print(select(2, conn:getpeername()) == port, select(2, conn:get_extra_info("peername")) == port)
  for i = 1, 100 do conn:send("msg" .. i) end
  local n, inorder = 0, true
  for i = 1, 100 do
    local d = await conn:recv()
    n = n + 1
    if d ~= "MSG" .. i then inorder = false end
  end
  print("received", n, inorder)
  -- a large datagram
  conn:send(string.rep("q", 60000))
  print(#(await conn:recv()))

  -- two receivers share the datagrams, one each
  local a = asyncio.create_task(function() return await client:recv() end)
  local b = asyncio.create_task(function() return await client:recv() end)
  await asyncio.sleep(0.01)
  server:send("one", "127.0.0.1", select(2, client:getsockname()))
  server:send("two", "127.0.0.1", select(2, client:getsockname()))
  local got = {(await a), (await b)}
  table.sort(got)
  print(got[1], got[2])

  -- a cancelled recv leaves the endpoint usable
  local t = asyncio.create_task(function() return await client:recv() end)
  await asyncio.sleep(0.01)
  t:cancel()
  print(pcall(function() return await t end) == false, t:cancelled())
  client:send("after", "127.0.0.1", port)
  print((await client:recv()))

  conn:send("stop")
  await echo
  server:close()
  client:close()
  print(server:is_closing(), tostring(server))
  print(pcall(server.send, server, "x", "127.0.0.1", port))
  print(pcall(function() return await server:recv() end))

  -- Unix datagram sockets
  local path = os.tmpname()
  os.remove(path)
  local us = await asyncio.open_udp{family = "unix", local_path = path}
  local cpath = path .. ".client"
  local uc = await asyncio.open_udp{family = "unix", local_path = cpath, remote_path = path}
  uc:send("over unix")
  local ud, from = await us:recv()
  print(ud, from == cpath)
  us:send("back", from)
  print((await uc:recv()))
  us:close()
  uc:close()
  os.remove(path)
  os.remove(cpath)

  -- errors
  local e = await asyncio.open_udp{}
  print(pcall(function() e:send("x") end))
  print(pcall(function() e:send("x", "localhost", 9) end))
  e:close()
end)
