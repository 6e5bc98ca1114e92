-- TCP echo: small and large payloads, many clients at once, the reading
-- methods, writelines, get_extra_info and the objects' tostring.
local _ <close> = require "clean_loop"
local function echo(reader, writer)
  while true do
    local data = await reader:read(65536)
    if data == "" then break end
    writer:write(data)
    await writer:drain()
  end
end

asyncio.run(async function()
  local server = await asyncio.start_server(echo, "127.0.0.1", 0)
  print(#server.sockets, server:is_serving())
  local host, port = server.sockets[1]:getsockname()
  print(host, math.type(port), port > 0)
  print((tostring(server):gsub("%d+ serving", "PORT serving")))

  local r, w = await asyncio.open_connection("127.0.0.1", port)
  print((tostring(w):gsub(":%d+", ":PORT")))
  local phost, pport = w:get_extra_info("peername")
  print(phost, pport == port)
  local shost = w:get_extra_info("sockname")
  print(shost, w:get_extra_info("nothing", "default"))
  local sock = w:get_extra_info("socket")
  print(math.type(sock:fileno()), select(2, sock:getpeername()) == port)
  print(pcall(sock.close, sock))

  -- small messages and every reading method
  w:write("hello\n")
  print(await r:readline())
  w:writelines({"a", "b", "c", "\n"})
  print(await r:readuntil("\n"))
  w:write("12345")
  print(await r:readexactly(2), await r:readexactly(3))
  w:write("one||two||")
  print(await r:readuntil("||"), await r:readuntil("||"))
  w:write("x")
  print(await r:read(100))
  print(await r:read(0) == "", r:at_eof())

  -- a large payload, echoed while it is being written
  local big = {}
  for i = 1, 200000 do big[i] = string.format("%07d\n", i) end
  big = table.concat(big)
  local reading = asyncio.create_task(function() return await r:readexactly(#big) end)
  w:write(big)
  await w:drain()
  local back = await reading
  print(#back, back == big)

  -- lines() iterates until the end of the stream; the loop body may await
  w:write("l1\nl2\nl3")
  w:write_eof()
  local lines = {}
  for line in r:lines() do
    await asyncio.sleep(0)
    lines[#lines + 1] = line
  end
  print(table.concat(lines, "|"), r:at_eof())
  print(await r:read(), await r:readline() == "")
  w:close()
  print(w:is_closing())
  await w:wait_closed()
  print(tostring(w), tostring(r))

  -- many clients at once, each with its own payload
  local async function client(i)
    local cr, cw <close> = await asyncio.open_connection("127.0.0.1", port)
    local msg = string.rep(string.char(64 + i % 26), 1000 * i)
    cw:write(msg)
    cw:write_eof()
    local got = await cr:read()
    return got == msg
  end
  local tasks = {}
  for i = 1, 40 do tasks[i] = client(i) end
  local results = await asyncio.gather(table.unpack(tasks))
  local ok = 0
  for i = 1, results.n do if results[i] then ok = ok + 1 end end
  print("clients ok:", ok)

  -- IPv6 loopback (where the machine has none, binding fails cleanly)
  local ok6, srv6 = pcall(function() return await asyncio.start_server(echo, "::1", 0) end)
  local v6
  if ok6 then
    local h6, p6 = srv6.sockets[1]:getsockname()
    local r6, w6 <close> = await asyncio.open_connection("::1", p6)
    local shown = tostring(w6):find("peer=[::1]:", 1, true) ~= nil
    w6:write("over ipv6")
    w6:write_eof()
    v6 = h6 == "::1" and await r6:read() == "over ipv6" and shown
    srv6:close()
  else
    v6 = srv6:find("Cannot assign requested address", 1, true) or srv6:find("not supported", 1, true)
  end
  print("ipv6:", v6 and "ok")

  server:close()
  await server:wait_closed()
  print(server:is_serving(), #server.sockets, tostring(server))
  local ok, err = pcall(function() return await asyncio.open_connection("127.0.0.1", port) end)
  print(ok, (tostring(err):gsub(":%d+:", ":PORT:")), err.call, asyncio.iserror(err, asyncio.ConnectionError))
end)
