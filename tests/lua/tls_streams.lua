-- TLS streams: open_connection{tls =}, start_server{tls =}, start_tls;
-- data both ways with flow control, connection details, verification
-- failures, handshake failures and timeouts, cancellation, close_notify,
-- client certificates, and Python's ssl module as an independent peer.
local _ <close> = require "clean_loop"
local make_certs = dofile("support/certs.lua")

local dir -- of the certificates
local function noport(s)
  s = tostring(s):gsub(":%d+", ":PORT")
  if dir then s = s:gsub(dir:gsub("%p", "%%%0"), "DIR/") end
  return s
end

local function try(fn, ...)
  local ok, err = pcall(fn, ...)
  if ok then return "ok" end
  return noport(err)
end

asyncio.run(async function()
  local remove_certs
  dir, remove_certs = await make_certs()
  local server_tls = {cert = dir .. "server.pem", key = dir .. "server.key", alpn = {"echo/2", "echo/1"}}
  local client_tls = {ca_file = dir .. "ca.pem", alpn = {"echo/1"}}

  -- an echo server: lines, and a byte count for "big"
  local server_info = {}
  local server = await asyncio.start_server(async function(reader, writer)
    server_info.version = writer:get_extra_info("tls_version")
    server_info.alpn = writer:get_extra_info("alpn_protocol")
    server_info.peercert = writer:get_extra_info("peercert")
    for line in reader:lines("L") do
      if line == "big\n" then
        local n = 0
        while n < 4 * 1024 * 1024 do n = n + #(await reader:read(65536)) end
        writer:write(string.format("%d\n", n))
      elseif line == "flood\n" then
        local chunk = string.rep("x", 65536)
        for _ = 1, 64 do
          writer:write(chunk)
          await writer:drain()
        end
      else
        writer:write("echo: " .. line)
      end
      await writer:drain()
    end
  end, "127.0.0.1", 0, {tls = server_tls})
  local _, port = server.sockets[1]:getsockname()
  print(noport(server))

  -- a connection and what it tells about itself
  local r, w = await asyncio.open_connection("localhost", port, {tls = client_tls})
  print(noport(w))
  local cipher, protocol, bits = w:get_extra_info("cipher")
  print(w:get_extra_info("tls_version"), protocol, type(cipher), bits >= 128, w:get_extra_info("alpn_protocol"))
  local cert = w:get_extra_info("peercert")
  print(cert.subject, cert.issuer, table.concat(cert.san, " "), cert.pem:match("^%-+BEGIN CERTIFICATE%-+\n") ~= nil)
  print(cert.not_before < cert.not_after, #cert.serial > 0)
  print(w:get_extra_info("peername") == "127.0.0.1", math.type(w:get_extra_info("fd")))
  print(w:can_write_eof(), try(w.write_eof, w))

  w:write("hello\n")
  print(await r:readline())
  w:writelines({"a", "b", "\n"})
  print(await r:readline())
  print("server:", server_info.version, server_info.alpn, server_info.peercert)

  -- 4 MB up, with drain applying back-pressure
  w:write("big\n")
  local chunk = string.rep("y", 65536)
  local most = 0
  for _ = 1, 64 do
    w:write(chunk)
    most = math.max(most, w:get_write_buffer_size())
    await w:drain()
  end
  print((await r:readline()):sub(1, -2), most > 0)

  -- 4 MB down while nobody reads: the reader's buffer stops at about 2 * limit
  w:write("flood\n")
  await asyncio.sleep(0.2)
  print("paused at", r:buffered() <= 2 * 65536 + 65536, r:buffered() > 0)
  local got = 0
  while got < 4 * 1024 * 1024 do got = got + #(await r:read(100000)) end
  print("flood", got)

  -- a cancelled read leaves the data for the next one
  local ok, err = pcall(function() return await asyncio.wait_for(r:readline(), 0.05) end)
  print("cancelled read:", ok, noport(err))
  w:write("after\n")
  print(await r:readline())

  -- close sends close_notify: the server's reader ends, the server closes too
  w:close()
  await w:wait_closed()
  print(noport(w), await r:read())

  -- read_timeout on a TLS stream
  local tr, tw = await asyncio.open_connection("127.0.0.1", port,
    {tls = {ca_file = dir .. "ca.pem"}, read_timeout = 0.05})
  print("read timeout:", try(function() return await tr:readline() end))
  tw:write("still there\n")
  print(await tr:readline())
  tw:close()

  -- verification failures
  local function bad_server(name)
    return await asyncio.start_server(function() end, "127.0.0.1", 0,
      {tls = {cert = dir .. name .. ".pem", key = dir .. name .. ".key"}})
  end
  for _, case in ipairs{
    {"selfsigned", "localhost", {ca_file = dir .. "ca.pem"}},
    {"expired", "localhost", {ca_file = dir .. "ca.pem"}},
    {"wronghost", "localhost", {ca_file = dir .. "ca.pem"}},
    {"server", "127.0.0.1", {ca_file = dir .. "ca.pem", server_hostname = "wrong.invalid"}},
    {"server", "127.0.0.1", true},
    {"selfsigned", "127.0.0.1", {verify = false}},
    {"server", "127.0.0.1", {ca_file = dir .. "ca.pem", server_hostname = "localhost"}},
  } do
    local s = bad_server(case[1])
    local _, p = s.sockets[1]:getsockname()
    ok, err = pcall(function()
      local _, cw <close> = await asyncio.open_connection(case[2], p, {tls = case[3]})
    end)
    local e = not ok and err
    print(case[1], ok or noport(e), e and asyncio.iserror(e, asyncio.SSLError), e and e.verify_code, e and e.verify_message)
    if e then assert(asyncio.iserror(e, asyncio.OSError) and e.errno > 0 and e.strerror == e.reason) end
    s:close()
    await s:wait_closed()
  end

  -- handshake failures: a plain server answering garbage, one hanging up,
  -- one never answering (the handshake timeout)
  local garbage = await asyncio.start_server(async function(reader, writer)
    writer:write("HTTP/1.1 400 Bad Request\r\n\r\n")
    await asyncio.sleep(1)
  end, "127.0.0.1", 0)
  local hangup = await asyncio.start_server(function(reader, writer) end, "127.0.0.1", 0)
  local silent = await asyncio.start_server(async function(reader, writer) await asyncio.sleep(5) end, "127.0.0.1", 0)
  for _, s in ipairs{garbage, hangup, silent} do
    local _, p = s.sockets[1]:getsockname()
    ok, err = pcall(function()
      return await asyncio.open_connection("127.0.0.1", p, {tls = {ca_file = dir .. "ca.pem", handshake_timeout = 0.2}})
    end)
    print(ok, noport(err), asyncio.iserror(err, asyncio.SSLError) and err.reason or "")
    s:close()
  end

  -- a plain client sending garbage to the TLS server costs only its connection
  local pr, pw <close> = await asyncio.open_connection("127.0.0.1", port)
  pw:write("GET / HTTP/1.1\r\n\r\n")
  print("plain client gets:", #(await pr:read()))

  -- start_tls: a plaintext greeting, then TLS on the same connection
  local starttls = await asyncio.start_server(async function(reader, writer)
    writer:write("220 hello\n")
    assert(await reader:readline() == "STARTTLS\n")
    writer:write("220 go ahead\n")
    await writer:start_tls({server_side = true, cert = dir .. "server.pem", key = dir .. "server.key"})
    writer:write("secret: " .. await reader:readline())
  end, "127.0.0.1", 0)
  local _, sp = starttls.sockets[1]:getsockname()
  local sr, sw <close> = await asyncio.open_connection("127.0.0.1", sp)
  print(await sr:readline())
  sw:write("STARTTLS\n")
  print(await sr:readline())
  print(noport(sw))
  await sw:start_tls({ca_file = dir .. "ca.pem", server_hostname = "localhost"})
  print(noport(sw), sw:get_extra_info("tls_version"))
  sw:write("42\n")
  print(await sr:readline())
  print("again:", try(function() await sw:start_tls(true) end))
  starttls:close()

  -- writing while the handshake runs is refused
  local idle = await asyncio.start_server(async function(reader, writer) await reader:read() end, "127.0.0.1", 0)
  local _, ip = idle.sockets[1]:getsockname()
  local ir, iw = await asyncio.open_connection("127.0.0.1", ip)
  local hs = asyncio.create_task(iw:start_tls({ca_file = dir .. "ca.pem", handshake_timeout = 5}))
  await asyncio.sleep(0.01)
  print("write during handshake:", try(iw.write, iw, "x"))
  hs:cancel()
  print("cancelled handshake:", try(function() await hs end), iw:is_closing())
  idle:close()

  -- client certificates
  local mtls = await asyncio.start_server(async function(reader, writer)
    local c = writer:get_extra_info("peercert")
    writer:write("hello " .. c.subject .. "\n")
  end, "127.0.0.1", 0, {tls = {cert = dir .. "server.pem", key = dir .. "server.key", verify = true, ca_file = dir .. "ca.pem"}})
  local _, mp = mtls.sockets[1]:getsockname()
  local mr, mw <close> = await asyncio.open_connection("localhost", mp,
    {tls = {ca_file = dir .. "ca.pem", cert = dir .. "client.pem", key = dir .. "client.key"}})
  print(await mr:readline())
  local nr, nw <close> = await asyncio.open_connection("localhost", mp, {tls = {ca_file = dir .. "ca.pem"}})
  ok, err = pcall(function() return await nr:readline() end)
  print("no client certificate:", ok, asyncio.iserror(err, asyncio.SSLError), err.reason)
  mtls:close()

  -- option errors
  print(try(function() await asyncio.open_connection("127.0.0.1", port, {tls = {verfy = false}}) end))
  print(try(function() await asyncio.open_connection("127.0.0.1", port, {tls = {alpn = "h2"}}) end))
  print(try(function() await asyncio.open_connection("127.0.0.1", port, {tls = {ca_file = dir .. "nothing.pem"}}) end))
  print(try(function() await asyncio.start_server(print, "127.0.0.1", 0, {tls = true}) end))
  print(try(function() await asyncio.start_server(print, "127.0.0.1", 0, {tls = {key = dir .. "server.key"}}) end))

  -- Python's ssl module: our client against its server, its client against ours
  local py = await asyncio.create_subprocess_exec("python3", "support/tls_peer.py", "server",
    dir .. "server.pem", dir .. "server.key", {stdout = asyncio.PIPE})
  local pyport = tonumber((await py.stdout:readline()):match("port=(%d+)"))
  local yr, yw <close> = await asyncio.open_connection("localhost", pyport, {tls = client_tls})
  yw:write("from alua\n")
  print(await yr:readline(), yw:get_extra_info("alpn_protocol"))
  py:kill()
  await py:wait()
  local pc = await asyncio.create_subprocess_exec("python3", "support/tls_peer.py", "client", tostring(port),
    dir .. "ca.pem", {stdout = asyncio.PIPE})
  print(await pc.stdout:read(), await pc:wait())

  server:close()
  await server:wait_closed()
  remove_certs()
end)
