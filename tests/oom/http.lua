-- Out-of-memory sweep: asyncio.http against a server on loopback: a GET,
-- a POST with a body, JSON both ways, a 404 through raise_for_status, a
-- body read in pieces and a client that reuses its connection.
local raises = dofile("support/raises.lua")
local http = asyncio.http

local async function serve(reader, writer)
  for request in reader:lines() do
    local method, path = request:match("^(%u+) (%S+)")
    local length = 0
    repeat
      local line = await reader:readline()
      length = tonumber(line:lower():match("^content%-length:%s*(%d+)")) or length
    until line == "\r\n" or line == ""
    local body = length > 0 and await reader:readexactly(length) or ""
    local status, out = "200 OK", method .. " " .. path .. " " .. body
    if path == "/missing" then status, out = "404 Not Found", "none" end
    if path == "/json" then out = '{"a": [1, 2], "b": null}' end
    if path == "/big" then out = ("x"):rep(3000) end
    writer:write(("HTTP/1.1 %s\r\nContent-Length: %d\r\n\r\n%s"):format(status, #out, out))
  end
  writer:close()
end

local ok, err = pcall(asyncio.run, async function()
  local server <close> = await asyncio.start_server(serve, "127.0.0.1", 0)
  local _, port = server.sockets[1]:getsockname()
  local base = ("http://127.0.0.1:%d"):format(port)
  local r = await http.get(base .. "/a", {params = {q = "1"}, headers = {["X-A"] = "b"}})
  print(r.status, r.ok, await r:text())
  print(await (await http.post(base .. "/p", {body = "hello"})):text())
  print((await (await http.post(base .. "/j", {json = {1, 2}})):text()))
  local j = await (await http.get(base .. "/json")):json()
  print(j.a[2], j.b == http.null)
  local missing = await http.get(base .. "/missing")
  print(missing.status, raises(asyncio.HTTPError, function() missing:raise_for_status() end))
  local client <close> = http.Client{base_url = base .. "/", max_connections = 1}
  local total = 0
  local big <close> = await client:get("big")
  for chunk in big:chunks(1000) do total = total + #chunk end
  print(total, await (await client:get("c")):text())
end)
-- running out of memory on the client's side must say so, not pass for
-- an HTTP error (the body "is not JSON", curl "failed writing" the data:
-- curl_code 23). (The server running out may well cut a response short:
-- an HTTPError then is right.) Exit status 3 fails the run in both modes
-- of the sweep, and neither the message nor the exit needs memory.
local function misreported(e)
  if not asyncio.iserror(e, asyncio.HTTPError) then return false end
  return e.curl_code == 23 or (type(e.reason) == "string" and e.reason:find("not enough memory", 1, true) ~= nil)
end
if not ok and misreported(err) then
  io.stderr:write("a failure was reported as an HTTP error\n")
  os.exit(3)
elseif not ok then
  error(err, 0)
end
