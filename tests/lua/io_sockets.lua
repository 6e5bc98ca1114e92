-- getaddrinfo on the worker pool, and the low-level socket API:
-- asyncio.socket with loop:sock_accept / sock_connect / sock_recv /
-- sock_sendall.
local _ <close> = require "clean_loop"
asyncio.run(async function()
  local loop = asyncio.get_running_loop()

  -- localhost resolves to a loopback address
  local infos = await asyncio.getaddrinfo("localhost", 8080, {type = "stream"})
  local loopback = false
  for _, ai in ipairs(infos) do
    if (ai.host == "127.0.0.1" or ai.host == "::1") and ai.port == 8080 and ai.type == "stream" then loopback = true end
  end
  print("localhost:", #infos > 0, loopback)
  -- numeric hosts are answered without the pool; a service name is looked up
  infos = await asyncio.getaddrinfo("::1", 53, {type = "dgram"})
  print(#infos, infos[1].family, infos[1].host, infos[1].port, infos[1].type)
  infos = await asyncio.getaddrinfo("127.0.0.1", "80", {type = "stream"})
  print(#infos, infos[1].family, infos[1].host, infos[1].port)
  -- nothing happens until awaited
  local aw = asyncio.getaddrinfo("localhost", 1)
  print(asyncio.iscoroutine(aw))
  await aw
  local ok, err = pcall(function() return await asyncio.getaddrinfo("no-such-host.invalid", 80) end)
  print(ok, tostring(err):match("^OSError: getaddrinfo: no%-such%-host%.invalid:80: ") ~= nil, err.errno < 0)
  ok, err = pcall(function() return await asyncio.open_connection("no-such-host.invalid", 80) end)
  print(ok, tostring(err):match("^OSError: open_connection: no%-such%-host%.invalid:80: ") ~= nil, err.call)

  -- a listening socket, an accepting task, a connecting client
  local listener <close> = asyncio.socket("inet", "stream")
  listener:bind("127.0.0.1", 0)
  listener:listen(8)
  local _, port = listener:getsockname()
  print((tostring(listener):gsub(":%d+>", ":PORT>"):gsub("fd=%d+", "fd=N")))
  local server = asyncio.create_task(async function()
    local conn, peer, pport = await loop:sock_accept(listener)
    local total = 0
    while true do
      local data = await loop:sock_recv(conn, 65536)
      if data == "" then break end
      total = total + #data
      await loop:sock_sendall(conn, data)
    end
    conn:close()
    return peer, total
  end)
  local c = asyncio.socket("inet")
  await loop:sock_connect(c, "127.0.0.1", port)
  print(c:family(), select(2, c:getpeername()) == port)
  local payload = string.rep("p", 2000000)
  local sender = asyncio.create_task(async function()
    await loop:sock_sendall(c, payload)
    c:shutdown("w")
  end)
  local back = {}
  while true do
    local data = await loop:sock_recv(c, 100000)
    if data == "" then break end
    back[#back + 1] = data
  end
  await sender
  print(#table.concat(back) == #payload, await server)
  c:close()
  print(tostring(c), c:fileno())

  -- a socket object becomes a stream
  local r, w
  local srv2 = await asyncio.start_server(function(rd, wr) wr:write(await rd:readline()) end, "127.0.0.1", 0)
  local s2 = asyncio.socket()
  await loop:sock_connect(s2, "127.0.0.1", select(2, srv2.sockets[1]:getsockname()))
  r, w = await asyncio.open_connection(nil, nil, {sock = s2})
  w:write("through a socket\n")
  print(await r:readline(), w:get_extra_info("socket") == s2)
  w:close()
  srv2:close()

  -- errors
  local refused = asyncio.socket()
  ok, err = pcall(function() await loop:sock_connect(refused, "127.0.0.1", port == 1 and 2 or 1) end)
  print(ok, (tostring(err):gsub("%d+: Connection", "N: Connection")))
  print(asyncio.iserror(err, asyncio.ConnectionRefusedError), asyncio.iserror(err, asyncio.OSError),
        err.errno, err.strerror, err.call)
  refused:close()
  print(pcall(function() refused:bind("127.0.0.1", 0) end))
  print(pcall(asyncio.socket, "bogus"))
  print(pcall(function() return loop:sock_connect(asyncio.socket(), "localhost", 80) end))
  print(pcall(function() return loop:sock_recv(asyncio.socket(), 0) end))
  local twice = loop:sock_accept(listener)
  local t = asyncio.create_task(function() return await twice end)
  await asyncio.sleep(0.01)
  t:cancel()
  print(pcall(function() await t end))
  print(pcall(function() await twice end))
end)
