-- asyncio.http against Python's http.server (support/http_peer.py), an
-- independent implementation: gzip, chunked bodies, redirect chains, POST
-- answered by 303, JSON, repeated fields, connection reuse, HEAD, and a
-- server that resets the connection.
local _ <close> = require "clean_loop"
local http = asyncio.http

local function noport(s) return (tostring(s):gsub(":%d+", ":PORT")) end

asyncio.run(async function()
  local peer = await asyncio.create_subprocess_exec("python3", "support/http_peer.py", {stdout = asyncio.PIPE})
  local port = tonumber((await peer.stdout:readline()):match("port=(%d+)"))
  local client <close> = http.Client{base_url = "http://127.0.0.1:" .. port}

  -- gzip: decoded on the way in (the header still says how it came)
  local r = await client:get("/gzip", {params = {n = 100000}})
  local body = await r:text()
  print(r.status, r.headers["content-encoding"], #body, body:sub(1, 18), select(2, body:gsub("\n", "")))
  r = await client:get("/gzip", {decompress = false})
  local raw = await r:text()
  print("raw gzip:", raw:byte(1) == 0x1f and raw:byte(2) == 0x8b, #raw < 1000)

  r = await client:get("/chunked")
  print(r.headers["transfer-encoding"], await r:text())

  r = await client:get("/redirect/5")
  print(r.status, noport(r.url), await r:text())
  r = await client:post("/see-other", {body = "x"})
  print(r.status, noport(r.url), r.method, (await r:json()).name)

  local j = await (await client:get("/json")):json()
  print(j.name, #j.list, j.nothing == http.null)
  print(await (await client:post("/echo", {json = {a = true}})):text())
  print(await (await client:put("/echo", {body = "hello", headers = {["Content-Type"] = "text/x-test"}})):text())
  local h = await (await client:get("/headers", {headers = {["X-Trace"] = "42"}})):json()
  print(h["x-trace"], h["accept-encoding"], h["user-agent"], h.expect)

  r = await client:get("/cookies")
  print(r.headers["set-cookie"], table.concat(r:get_all("Set-Cookie"), " "))
  r = await client:head("/anything")
  print(r.status, r.headers["content-length"], await r:text() == "")

  -- one connection for requests one after another
  local fresh <close> = http.Client{base_url = "http://127.0.0.1:" .. port}
  local p1 = await (await fresh:get("/connection")):text()
  local p2 = await (await fresh:get("/connection")):text()
  local p3 = await (await fresh:post("/echo")):text() and await (await fresh:get("/connection")):text()
  print("same connection:", p1 == p2, p2 == p3)

  -- a reset: an OSError of the right class, with the URL
  local ok, err = pcall(function() return await client:get("/reset") end)
  print(ok, asyncio.iserror(err, asyncio.ConnectionResetError), noport(err.url), err.errno > 0)
  -- and the client goes on
  print(await (await client:get("/redirect/0")):text())

  peer:kill()
  await peer:wait()
end)
