-- asyncio.http against a server written with alua's own streams: methods,
-- headers, bodies, keep-alive reuse, redirects, chunked responses, query
-- parameters, base_url, JSON, and the errors of bad requests and servers.
local _ <close> = require "clean_loop"
local httpd = dofile("support/httpd.lua")
local http = asyncio.http

local function noport(s) return (tostring(s):gsub(":%d+", ":PORT")) end
local function try(fn, ...)
  local ok, err = pcall(fn, ...)
  if ok then return "ok" end
  return noport(err)
end

asyncio.run(async function()
  local srv = await httpd.start({
    ["/hello"] = function(req) return 200, {["Content-Type"] = "text/plain", ["X-Twice"] = "a"}, "hello " .. req.method end,
    ["/twice"] = function() return 200, {["X-Twice"] = "a, b"}, "" end,
    ["/echo"] = function(req)
      return 200, {["Content-Type"] = req.headers["content-type"] or "none"},
        string.format("%s %s %s %d:%s", req.method, req.query, req.headers["x-custom"] or "-", #req.body, req.body)
    end,
    ["/headers"] = function(req)
      local names = {}
      for k, v in pairs(req.headers) do if k ~= "host" then names[#names + 1] = k .. "=" .. v end end
      table.sort(names)
      return 200, {}, table.concat(names, " ")
    end,
    ["/redirect"] = function(req) return 302, {Location = "/hello"}, "" end,
    ["/loop"] = function(req) return 302, {Location = "/loop"}, "" end,
    ["/absolute"] = function(req) return 301, {Location = "http://" .. req.headers.host .. "/hello"}, "" end,
    ["/chunked"] = function()
      return 200, {}, function(write)
        for i = 1, 5 do write("part " .. i .. ";") end
      end
    end,
    ["/json"] = function() return 200, {["Content-Type"] = "application/json"}, '{"a": [1, 2, {"b": null}], "s": "x"}' end,
    ["/notjson"] = function() return 200, {}, "<html>" end,
    ["/missing"] = function() return 404, {}, "gone" end,
    ["/empty"] = function() return 204, {}, nil end,
    ["/short"] = function(req, reader, writer)
      writer:write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
    end,
    ["/garbage"] = function(req, reader, writer) writer:write("this is not HTTP at all\r\n\r\n") end,
    ["/nothing"] = function() end,
  })
  local url = srv.url

  -- a module-level GET: status, headers in any case, url, text
  local resp = await http.get(url .. "/hello")
  print(noport(resp), resp.status, resp.ok, resp.http_version)
  print(resp.headers["content-type"], resp.headers["Content-Type"], resp.headers["X-TWICE"], resp.headers.nothing)
  print(noport(resp.url), await resp:text())
  print("after the end:", await resp:read(10) == "", await resp:text() == "")
  print(#resp:get_all("x-twice"), resp:get_all("X-Twice")[1])

  -- one client: every request over one kept-alive connection
  local client <close> = http.Client{base_url = url .. "/", headers = {["X-Custom"] = "from-client"}, timeout = 5}
  local before = srv.connections
  for i = 1, 5 do
    local r = await client:get("hello")
    assert(await r:text() == "hello GET")
  end
  print("five requests, new connections:", srv.connections - before)
  print(noport(client))

  -- methods, bodies, headers (a request's replace the client's), params
  print(await (await client:post("echo", {body = "a=1&b=2", headers = {["Content-Type"] = "application/x-www-form-urlencoded"}})):text())
  print(await (await client:put("echo", {body = "put body"})):text())
  print(await (await client:patch("echo", {body = ""})):text())
  print(await (await client:delete("echo")):text())
  print(await (await client:request{method = "post", url = "echo", headers = {["x-custom"] = "mine"}}):text())
  print(await (await client:get("echo", {params = {q = "a b&c", n = 1, list = {"x", "y"}}})):text())
  print(await (await client:get("echo?keep=1", {params = {more = 2}})):text())
  local big = string.rep("0123456789", 200000)
  print("2 MB post:", #(await (await client:post("echo", {body = big})):text()))
  local head = await client:head("hello")
  print("HEAD:", head.status, head.headers["content-length"], await head:text() == "")
  print(await (await client:get("headers")):text())
  print(await (await client:get("headers", {decompress = false, headers = {["User-Agent"] = "test/1"}})):text())

  -- JSON both ways
  local j = await (await client:get("json")):json()
  print(j.a[1], j.a[2], j.a[3].b == http.null, j.s)
  print(await (await client:post("echo", {json = {1, 2, "three"}})):text())
  print(try(function() return await (await client:get("notjson")):json() end))

  -- redirects: followed by default (the final URL is the response's),
  -- or not; a loop ends in an error
  local r = await client:get("redirect")
  print(r.status, noport(r.url), await r:text())
  r = await client:get("absolute")
  print(r.status, noport(r.url), await r:text())
  r = await client:get("redirect", {follow_redirects = false})
  print(r.status, r.headers.location, await r:text() == "")
  print(try(function() await client:get("loop", {max_redirects = 3}) end))

  -- chunked responses, read in pieces, as chunks and at once
  r = await client:get("chunked")
  print(r.headers["transfer-encoding"], await r:read(3), await r:read(3))
  local parts = {}
  for chunk in r:chunks(7) do parts[#parts + 1] = chunk end
  print(table.concat(parts, "|"):gsub("|", ""), await r:read() == "")
  print(await (await client:get("chunked")):text())

  -- statuses
  r = await client:get("missing")
  print(r.status, r.ok, await r:text(), try(r.raise_for_status, r))
  r = await client:get("empty")
  print(r.status, r.headers["content-length"], await r:text() == "")
  print(r:raise_for_status() == r)

  -- failures: a body cut short, garbage, nothing, no server, bad URLs
  r = await client:get("short")
  print(try(function() return await r:text() end))
  print(try(function() await client:get("garbage") end))
  print(try(function() await client:get("nothing") end))
  local ok, err = pcall(function() return await http.get("http://127.0.0.1:1/x") end)
  print(asyncio.iserror(err, asyncio.ConnectionRefusedError), asyncio.iserror(err, asyncio.OSError), err.url, err.method, err.errno > 0)
  print(try(function() await http.get("nope://x") end))
  print(try(function() await http.get("http://") end))

  -- a response that is closed, and a closed client
  r = await client:get("hello")
  r:close()
  print(try(function() return await r:text() end))
  local other = http.Client()
  local pending = await other:get(url .. "/chunked")
  other:close()
  print(try(function() await other:get(url .. "/hello") end))

  -- misuse
  print(try(function() await http.get(42) end))
  print(try(function() await http.get(url, {timout = 1}) end))
  print(try(function() await http.get(url, {headers = {["Bad Name"] = "x"}}) end))
  print(try(function() await http.get(url, {headers = {X = "a\r\nb"}}) end))
  print(try(http.Client, {max_connections = 0}))
  print(try(function() await http.request{url = url, method = "GET POST"} end))
  print(try(function() await http.request("x") end))
  print(try(function() await http.get(url .. "/json", {json = {}, body = "x"}) end))
  print(try(function() await http.get(url .. "/json", {tls = {verify = "no"}}) end))
  print(try(function() return (await client:get("hello")):read(-1) end))

  await srv.close()
  print("server saw", srv.requests, "requests")
end)
