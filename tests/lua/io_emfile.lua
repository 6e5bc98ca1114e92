-- accept survives running out of file descriptors: the server stops
-- accepting for a moment (it does not spin on the ready listening socket),
-- then resumes and serves the connection that waited in the backlog. Runs
-- itself again under `ulimit -n 64` so the limit is reached quickly.
local _ <close> = require "clean_loop"
if arg[1] ~= "child" then
  asyncio.run(async function()
    local p = await asyncio.create_subprocess_exec("/bin/sh", "-c", 'ulimit -n 64 && exec "$0" "$1" child', arg[-1], arg[0],
      {stdout = asyncio.PIPE, stderr = asyncio.STDOUT})
    io.write((await p:communicate()))
    print("child exit:", p.returncode)
  end)
  return
end

asyncio.run(async function()
  local loop = asyncio.get_running_loop()
  local handled = 0
  local server = await asyncio.start_server(async function(reader, writer)
    handled = handled + 1
    writer:write("hello " .. await reader:readline())
  end, "127.0.0.1", 0, {accept_retry_delay = 0.05})
  local _, port = server.sockets[1]:getsockname()

  -- use up every descriptor, then give one back for the client's socket
  local hog = {}
  while true do
    local f = io.open("/dev/null")
    if not f then break end
    hog[#hog + 1] = f
  end
  table.remove(hog):close()
  local client = asyncio.socket()
  await loop:sock_connect(client, "127.0.0.1", port)
  await loop:sock_sendall(client, "world\n")

  -- the server cannot accept now: it backs off instead of spinning
  local cpu0 = os.clock()
  await asyncio.sleep(0.3)
  local cpu = os.clock() - cpu0
  print("handled while out of descriptors:", handled)
  print("no busy loop:", cpu < 0.15)

  -- descriptors come back: the waiting connection is served
  for i = 1, 10 do table.remove(hog):close() end
  local reply = await asyncio.wait_for(loop:sock_recv(client, 100), 5)
  print(reply, handled)
  client:close()
  for _, f in ipairs(hog) do f:close() end

  -- and new connections work as usual
  local r, w <close> = await asyncio.open_connection("127.0.0.1", port)
  w:write("again\n")
  print(await r:readline(), handled)
  server:close()
end)
