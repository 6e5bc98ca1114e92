-- HTTPS: asyncio.http over TLS against alua's own TLS server (verification
-- on by default, ca_file, verify = false, and the failures: self-signed,
-- expired, wrong host, unknown authority), and HTTP/2 with nghttpd: many
-- requests multiplexed over one connection.
local _ <close> = require "clean_loop"
local make_certs = dofile("support/certs.lua")
local httpd = dofile("support/httpd.lua")
local http = asyncio.http

local dir
local function clean(s)
  s = tostring(s):gsub(":%d+", ":PORT")
  return (s:gsub(dir:gsub("%p", "%%%0"), "DIR/"))
end

asyncio.run(async function()
  local remove_certs
  dir, remove_certs = await make_certs()
  local function server(name)
    return await httpd.start({["/"] = function(req) return 200, {}, "secret " .. req.method end},
      {tls = {cert = dir .. name .. ".pem", key = dir .. name .. ".key"}})
  end

  local good = server("server")
  local ca = {ca_file = dir .. "ca.pem"}
  local url = "https://localhost:" .. good.port .. "/"
  local r = await http.get(url, {tls = ca})
  print(r.status, r.http_version, clean(r.url), await r:text())
  local client <close> = http.Client{tls = ca}
  for i = 1, 3 do assert(await (await client:get(url)):text() == "secret GET") end
  print("one TLS connection for three requests:", good.connections == 2)
  print(await (await http.post("https://127.0.0.1:" .. good.port .. "/", {tls = ca, body = "x"})):text())

  local function fails(target, tls)
    local ok, err = pcall(function() return await http.get(target, {tls = tls}) end)
    if ok then return "ok" end
    assert(asyncio.iserror(err, asyncio.OSError) and err.errno > 0 and err.strerror == err.reason)
    return clean(err), asyncio.iserror(err, asyncio.SSLError), err.verify_message, clean(err.url)
  end
  print(fails(url, nil))
  for _, name in ipairs{"selfsigned", "expired", "wronghost"} do
    local s = server(name)
    print(name, fails("https://localhost:" .. s.port .. "/", ca))
    print(name, "verify = false:", fails("https://localhost:" .. s.port .. "/", {verify = false}))
    await s.close()
  end
  -- a plain HTTP server asked for HTTPS
  local plain = await asyncio.start_server(function(reader, writer)
    writer:write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
  end, "127.0.0.1", 0)
  local ok, err = pcall(function()
    return await http.get("https://127.0.0.1:" .. select(2, plain.sockets[1]:getsockname()) .. "/", {tls = ca})
  end)
  print("plain:", ok, asyncio.iserror(err, asyncio.SSLError), err.reason:find("wrong version number") ~= nil)
  plain:close()
  await plain:wait_closed()
  print("missing CA file:", fails(url, {ca_file = dir .. "nothing.pem"}))
  await good.close()

  -- HTTP/2 (nghttpd serves the certificate directory): twenty requests at
  -- once over a single connection
  local probe = asyncio.socket()
  probe:bind("127.0.0.1", 0)
  local _, h2port = probe:getsockname()
  probe:close()
  local nghttpd = await asyncio.create_subprocess_exec("nghttpd", "-a", "127.0.0.1", "-d", dir, tostring(h2port),
    dir .. "server.key", dir .. "server.pem", {stdout = asyncio.DEVNULL, stderr = asyncio.DEVNULL})
  local h2 <close> = http.Client{tls = ca, max_connections = 1, base_url = "https://localhost:" .. h2port .. "/"}
  for _ = 1, 100 do -- until it listens
    local ok = pcall(function() local _, w <close> = await asyncio.open_connection("127.0.0.1", h2port) end)
    if ok then break end
    await asyncio.sleep(0.02)
  end
  local tasks = {}
  for i = 1, 20 do
    tasks[i] = asyncio.create_task(async function()
      local resp = await h2:get("ca.pem")
      return resp.http_version .. " " .. resp.status .. " " .. #(await resp:text())
    end)
  end
  local results = await asyncio.gather(table.unpack(tasks))
  local same = 0
  for i = 1, 20 do if results[i] == results[1] then same = same + 1 end end
  local f = io.open(dir .. "ca.pem")
  print(results[1] == "2 200 " .. #f:read("a"), same)
  f:close()
  print(clean(await h2:get("nothing-here")), "404")
  nghttpd:terminate()
  await nghttpd:wait()
  remove_certs()
end)
