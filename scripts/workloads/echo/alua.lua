-- echo, alua: a TCP echo server with asyncio streams. Listens on 127.0.0.1
-- at the port given (0: any), prints `port=<n>`, serves until killed; the
-- harness drives it with loadgen.c.
local asyncio = require "asyncio"
local async, await = asyncio.async, asyncio.await
local port = math.tointeger(tonumber(arg and arg[1])) or 0

local handle = async(function(reader, writer)
  while true do
    local data = await(reader:read(65536))
    if data == "" then break end
    writer:write(data)
    await(writer:drain())
  end
  writer:close()
end)

asyncio.run(async(function()
  local server = await(asyncio.start_server(handle, "127.0.0.1", port))
  local _, p = server.sockets[1]:getsockname()
  io.stdout:write(string.format("port=%d\n", p))
  io.stdout:flush()
  await(server:serve_forever())
end))
