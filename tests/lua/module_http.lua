-- TLS and HTTP from asyncio.so under the stock lua5.4 interpreter: the
-- module loads libssl, libcurl and lua-cjson on first use, as alua does.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"
local A, await = asyncio.async, asyncio.await

asyncio.run(A(function()
  local server = await(asyncio.start_server(function(reader, writer)
    repeat local line = await(reader:readline()) until line == "\r\n" or line == ""
    local body = '{"list": [1, 2], "name": "lua5.4"}'
    writer:write(("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"):format(#body, body))
  end, "127.0.0.1", 0))
  local _, port = server.sockets[1]:getsockname()
  local resp = await(asyncio.http.get("http://127.0.0.1:" .. port .. "/"))
  local value = await(resp:json())
  print(resp.status, value.name, #value.list)
  local ok, err = pcall(function()
    return await(asyncio.open_connection("127.0.0.1", port, {tls = {ca_file = "/nonexistent/ca.pem"}}))
  end)
  print(ok, asyncio.iserror(err, asyncio.SSLError), err)
  server:close()
end))
