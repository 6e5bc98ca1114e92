-- asyncio.print_ps() for waits on descriptors, processes and worker
-- threads: each names what it waits on, sockets and streams with their peer.
-- Ports, descriptors and process ids vary from run to run: they are masked.
local _ <close> = require "clean_loop"
local function masked(text)
  return (text:gsub("127%.0%.0%.1:%d+", "127.0.0.1:PORT"):gsub("fd=%d+", "fd=N"):gsub("pid=%d+", "pid=N")
    :gsub("since %d+%.%d+", "since T"):gsub("loop time %d+%.%d+", "loop time T"))
end

async function main()
  local loop = asyncio.get_running_loop()
  local gate = asyncio.Event()
  local server <close> = await(asyncio.start_server(async function(reader, writer)
    await(gate:wait())
    writer:close()
  end, "127.0.0.1", 0))
  local port = select(2, server.sockets[1]:getsockname())
  local reader, writer = await(asyncio.open_connection("127.0.0.1", port))
  local sock = asyncio.socket("inet", "stream")
  await(loop:sock_connect(sock, "127.0.0.1", port))
  local proc = await(asyncio.create_subprocess_exec("sleep", "5"))
  local started = asyncio.Event()
  local tasks = {
    asyncio.create_task(async function() await(reader:read(10)) end, {name = "stream"}),
    asyncio.create_task(async function() await(loop:sock_recv(sock, 10)) end, {name = "socket"}),
    asyncio.create_task(async function() await(proc:wait()) end, {name = "process"}),
    asyncio.create_task(async function()
      await(asyncio.to_thread(function() local t = os.clock() while os.clock() - t < 0.3 do end end))
    end, {name = "thread"}),
    asyncio.create_task(async function() await(server:serve_forever()) end, {name = "server"}),
  }
  await(asyncio.sleep(0.05))
  print(masked(asyncio.format_ps()))
  for _, t in ipairs(tasks) do t:cancel() end
  proc:kill()
  await(proc:wait())
  gate:set()
  writer:close()
  sock:close()
  await(asyncio.gather(table.unpack(tasks, 1, #tasks), {return_exceptions = true}))
end

asyncio.run(main)
