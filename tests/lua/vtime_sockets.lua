-- Under virtual time, sockets do not hold the clock: a connection between
-- two tasks of one loop works while timers are pending, and a read
-- timeout on a quiet connection fires at its exact deadline.
local _ <close> = require "clean_loop"
local function fmt(t) return string.format("%.3f", t) end

asyncio.run(async function()
  local loop = asyncio.get_running_loop()
  -- a background ticker keeps a timer pending the whole time
  local ticks = 0
  local ticker = asyncio.create_task(async function()
    for _ = 1, 5 do
      await asyncio.sleep(1)
      ticks = ticks + 1
    end
  end)

  local server = await asyncio.start_server(async function(reader, writer)
    while true do
      local line = await reader:readline()
      if line == "" then break end
      writer:write("echo " .. line)
      await writer:drain()
    end
    writer:close()
  end, "127.0.0.1", 0)
  local _, port = server.sockets[1]:getsockname()

  local r, w = await asyncio.open_connection("127.0.0.1", port)
  for _, msg in ipairs({"one", "two", "three"}) do
    w:write(msg .. "\n")
    io.write(await r:readline())
  end

  -- nobody writes: the read timeout fires at exactly its deadline
  local r2, w2 = await asyncio.open_connection("127.0.0.1", port, {read_timeout = 30})
  local t = loop:time()
  local ok, err = pcall(function() return await r2:readline() end)
  print("quiet read:", err.type, "after " .. fmt(loop:time() - t))
  w2:close()

  w:close()
  await w:wait_closed()
  server:close()
  await server:wait_closed()
  await ticker
  print("ticks:", ticks)
end, {virtual_time = true})
