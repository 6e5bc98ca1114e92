-- Out-of-memory sweep: TLS streams and HTTPS. A TLS echo server and a
-- client verifying it, lines both ways and the connection's details; a
-- certificate refused for its host name; a plain connection upgraded with
-- start_tls on both sides; asyncio.http fetching over HTTPS from a TLS
-- server. The certificates are made once for the whole sweep (run-oom:
-- ALUA_OOM_CERTS), not by each run.
local dir = assert(os.getenv("ALUA_OOM_CERTS"), "run by tests/oom/run-oom") .. "/"
local server_tls = {cert = dir .. "server.pem", key = dir .. "server.key"}
local client_tls = {ca_file = dir .. "ca.pem"}

local async function echo(reader, writer)
  for line in reader:lines("L") do
    writer:write(line:upper())
    await writer:drain()
  end
  writer:close()
end

-- answers each HTTP request with its method and path
local async function http_serve(reader, writer)
  for request in reader:lines() do
    local method, path = request:match("^(%u+) (%S+)")
    repeat
      local line = await reader:readline()
    until line == "\r\n" or line == ""
    local out = method .. " " .. path
    writer:write(("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"):format(#out, out))
  end
  writer:close()
end

asyncio.run(async function()
  local server <close> = await asyncio.start_server(echo, "127.0.0.1", 0, {tls = server_tls})
  local _, port = server.sockets[1]:getsockname()

  local r, w = await asyncio.open_connection("localhost", port, {tls = client_tls})
  w:write("one\n")
  print("tls", await r:readline(), w:get_extra_info("peercert").subject)
  w:writelines({"two", " three\n"})
  print("tls", await r:readline())
  w:close()
  await w:wait_closed()

  -- a certificate that names another host
  local wrong = {ca_file = client_tls.ca_file, server_hostname = "wrong.invalid"}
  local ok, err = pcall(function() return await asyncio.open_connection("127.0.0.1", port, {tls = wrong}) end)
  if ok or not asyncio.iserror(err, asyncio.SSLError) then error(ok and "accepted" or err, 0) end
  print("refused", err.verify_message)

  -- STARTTLS: a plain line, then both sides upgrade the same connection.
  -- The server answers on the stream: a handler that fails closes it,
  -- and the client's read ends instead of waiting.
  local plain <close> = await asyncio.start_server(async function(reader, writer)
    local hello = await reader:readline()
    writer:write("go\n")
    await writer:drain()
    await writer:start_tls({cert = server_tls.cert, key = server_tls.key, server_side = true})
    writer:write(hello:upper() .. (await reader:readline()):upper())
    await writer:drain()
    writer:close()
  end, "127.0.0.1", 0)
  local _, pport = plain.sockets[1]:getsockname()
  local pr, pw = await asyncio.open_connection("127.0.0.1", pport)
  pw:write("hello\n")
  print("plain", await pr:readline())
  await pw:start_tls({ca_file = client_tls.ca_file, server_hostname = "localhost"})
  pw:write("secret\n")
  print("start_tls", await pr:readline(), await pr:readline(), pw:get_extra_info("tls_version") ~= nil)
  pw:close()

  -- HTTPS through libcurl, trusting the test authority
  local https <close> = await asyncio.start_server(http_serve, "127.0.0.1", 0, {tls = server_tls})
  local _, hport = https.sockets[1]:getsockname()
  local resp = await asyncio.http.get(("https://localhost:%d/x"):format(hport), {tls = client_tls})
  print("https", resp.status, await resp:text())
end)
