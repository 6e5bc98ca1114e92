-- A crowd of clients connecting while the server's loop is busy: the
-- default listen backlog (511) keeps every handshake, so none of them has
-- to wait for a retransmission (a backlog of 100 drops the rest for a
-- second or more), and the server then accepts them all in a few batches.
local _ <close> = require "clean_loop"
local N = 300
asyncio.run(async function()
  local served = 0
  local server = await asyncio.start_server(async function(r, w)
    served = served + 1
    w:close()
  end, "127.0.0.1", 0)
  local _, port = server.sockets[1]:getsockname()
  -- the clients: N connections at once, each given 2.5 s (the first retry of
  -- a dropped handshake comes after 1 s, the second after 3 s)
  local child = await asyncio.create_subprocess_exec(arg[-1], "-e", ([[
    local ok = 0
    asyncio.run(async function()
      local tries = {}
      for i = 1, %d do
        tries[i] = asyncio.create_task(async function()
          local r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", %d), 2.5)
          ok = ok + 1
          w:close()
        end)
      end
      await asyncio.gather(table.unpack(tries, 1, %d), {return_exceptions = true})
    end)
    print(ok)]]):format(N, port, N), {stdout = asyncio.PIPE})
  -- the server's loop does nothing for a while: only the kernel answers
  os.execute("sleep 3")
  local out = await child.stdout:read()
  await child:wait()
  print("connected in time:", out:match("%d+"))
  for _ = 1, 500 do -- up to 5 s
    if served >= N then break end
    await asyncio.sleep(0.01)
  end
  print("served:", served)
  server:close()
  await server:wait_closed()
end)
