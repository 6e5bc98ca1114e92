#!/usr/bin/env alua
local __alua_async, __alua_await = ("").__alua_async or require("asyncio").async, ("").__alua_await or require("asyncio").await; -- A realistic alua program: every form of the syntax, as users write it.
local asyncio = require("asyncio")

local Client = {}
Client.__index = Client

Client.fetch = __alua_async(function(self, url, opts)
  local reader, writer = __alua_await(asyncio.open_connection(url.host, url.port))
  writer:write(("GET %s HTTP/1.0\r\n\r\n"):format(url.path))
  __alua_await(writer:drain())
  local status = __alua_await(reader:readline())
  local body = __alua_await(reader:read(-1))
  writer:close()
  __alua_await(writer:wait_closed())
  return status, #body > 0 and body or nil
end, "Client:fetch")

Client.new = __alua_async(function(name)
  __alua_await(asyncio.sleep(0))
  return setmetatable({ name = name }, Client)
end, "Client.new")

local retry; retry = __alua_async(function(n, fn, ...)
  for i = 1, n do
    local ok, a, b = pcall(fn, ...)
    if ok then return a, b end
    __alua_await(asyncio.sleep(0.1 * 2 ^ i))
  end
  return retry(1, fn, ...)
end, "retry")

local handlers = {
  ping = __alua_async(function (msg) return "pong " .. msg end),
  echo = __alua_async(function (...) return ... end),
}

main = __alua_async(function()
  local client = __alua_await(Client.new("demo"))
  local results = __alua_await(asyncio.gather(
    handlers.ping("x"),
    handlers.echo(1, 2),
    retry(3, function() return client end)
  ))
  local lock = asyncio.Lock()
  do
    local _ <close> = __alua_await(lock:acquire())
    local n = -__alua_await(asyncio.sleep(0, 1)) + #results
    if __alua_await(asyncio.wait_for(handlers.ping("y"), 1)) == "pong y" then
      print(n, __alua_await(__alua_await(handlers.echo(handlers.ping("z")))))
    end
  end
  local t = asyncio.create_task(handlers.ping("bg"), { name = "bg" })
  return __alua_await(t)
end, "main")

print(asyncio.run(main))
