-- A chat server: what one client writes, every other client reads.
-- Run it with:  build/alua scripts/examples/chat_server.lua [port]
-- then connect a few terminals:  nc 127.0.0.1 8889
-- `--demo` starts it on a free port with three scripted users, and stops.
--
-- Each client gets a queue of outgoing lines and a writer task that empties
-- it, so one slow reader never holds up the others: its queue fills up
-- (max 100 lines) and further messages to it are dropped.

local demo = arg[1] == "--demo"
local port = demo and 0 or tonumber(arg[1]) or 8889
local clients = {}            -- writer -> outgoing queue

local function broadcast(from, text)
  for w, q in pairs(clients) do
    if w ~= from and not q:full() then q:put_nowait(text) end
  end
end

async function pump(writer, queue)
  while true do
    local line = await queue:get()
    writer:write(line)
    await writer:drain()
  end
end

async function handle(reader, writer)
  writer:write("name? ")
  local name = (await reader:readline()):gsub("%s+$", "")
  if name == "" then return end
  local queue = asyncio.Queue(100)
  clients[writer] = queue
  local sender = asyncio.create_task(pump(writer, queue))
  broadcast(writer, name .. " joined\n")
  -- `<close>` runs however the loop below ends: EOF, error or cancellation
  local _ <close> = setmetatable({}, {__close = function()
    clients[writer] = nil
    sender:cancel()
    broadcast(writer, name .. " left\n")
  end})
  for line in reader:lines() do
    broadcast(writer, string.format("<%s> %s\n", name, line))
  end
end

async function user(port, name, says, seen)
  local reader, writer <close> = await asyncio.open_connection("127.0.0.1", port)
  await reader:readuntil("? ")
  writer:write(name .. "\n")
  await asyncio.sleep(0.05)           -- let everybody join
  for _, text in ipairs(says) do
    writer:write(text .. "\n")
    await asyncio.sleep(0.02)
  end
  await asyncio.sleep(0.1)
  writer:write_eof()
  -- everything said by the others while we were here
  for line in reader:lines() do seen[#seen + 1] = name .. " saw " .. line end
end

async function main()
  local server <close> = await asyncio.start_server(handle, "127.0.0.1", port)
  local _, bound = server.sockets[1]:getsockname()
  print("chat server on port " .. bound)
  if not demo then
    await server:serve_forever()
    return
  end
  local seen = {}
  await asyncio.gather(
    user(bound, "ann", {"hi all"}, seen),
    user(bound, "bob", {"hello ann", "how are you?"}, seen),
    user(bound, "cat", {}, seen))
  table.sort(seen)
  for _, line in ipairs(seen) do print(line) end
end

asyncio.run(main)
