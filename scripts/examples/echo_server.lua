-- A TCP echo server: every line a client sends comes back to it.
-- Run it with:  build/alua scripts/examples/echo_server.lua [port]
-- then talk to it from another terminal:  nc 127.0.0.1 8888
-- Ctrl+C stops it. `--demo` instead starts the server on a free port,
-- runs three clients against it, and stops.

local demo = arg[1] == "--demo"
local port = demo and 0 or tonumber(arg[1]) or 8888

-- One task per connection: the handler gets the two halves of the stream.
async function handle(reader, writer)
  local peer, pport = writer:get_extra_info("peername")
  print(string.format("%s:%d connected", peer, pport))
  for line in reader:lines("L") do   -- awaits each line; ends at EOF
    writer:write(line)
    await writer:drain()              -- flow control: wait if the peer is slow
  end
  print(string.format("%s:%d left", peer, pport))
end                                   -- the connection closes when we return

async function client(port, name)
  local reader, writer <close> = await asyncio.open_connection("127.0.0.1", port)
  for i = 1, 3 do
    writer:write(string.format("%s says hello #%d\n", name, i))
    io.write("echo: ", await reader:readline())
  end
end

async function main()
  local server <close> = await asyncio.start_server(handle, "127.0.0.1", port)
  local host, bound = server.sockets[1]:getsockname()
  print(string.format("echo server on %s:%d", host, bound))
  if demo then
    await asyncio.gather(client(bound, "ann"), client(bound, "bob"), client(bound, "cat"))
    return
  end
  await server:serve_forever()
end

asyncio.run(main)
