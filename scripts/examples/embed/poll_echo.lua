-- For poll_host.c: a TCP echo server on a free local port, and for every
-- line of input a client that sends it and prints the answer. Sockets,
-- tasks and the host's standard input share the host's poll() loop.
local server = await asyncio.start_server(function(reader, writer)
  for line in reader:lines("L") do
    writer:write(line:upper())
    await writer:drain()
  end
  writer:close()
end, "127.0.0.1", 0)
local _, port = server.sockets[1]:getsockname()
local clients = {}

function on_line(line)
  clients[#clients + 1] = asyncio.create_task(function()
    local reader, writer <close> = await asyncio.open_connection("127.0.0.1", port)
    writer:write(line .. "\n")
    local answer = await reader:readline()
    return (answer:gsub("\n$", ""))
  end)
end

function on_eof()
  -- once every client has its answer, the server closes: the loop goes idle
  asyncio.create_task(function()
    local answers = await asyncio.gather(table.unpack(clients))
    for i = 1, #clients do print("echoed: " .. answers[i]) end
    server:close()
    await server:wait_closed()
    print("server closed")
  end)
end
