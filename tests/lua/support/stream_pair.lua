-- A loopback connection whose far end a test drives, for tests of stream
-- readers (called in a task; opts go to open_connection):
--   p.reader, p.writer  the test's side
--   p.feed(data)        writes data and waits until the reader has buffered
--                       it, so that a read then finds all of it
--   p.feed_later(...)   returns a task that writes each piece (false: the
--                       end of the stream) apart, while the caller reads,
--                       collecting garbage before each: what a waiting read
--                       holds must survive it
--   p.feed_eof()        half-closes the far end
--   p.close()           closes both ends and the server
return function(opts)
  local far = asyncio.Future()
  local finish = asyncio.Event()
  local server = await asyncio.start_server(async function(_, w)
    far:set_result(w)
    await finish:wait()
  end, "127.0.0.1", 0)
  local _, port = server.sockets[1]:getsockname()
  local reader, writer = await asyncio.open_connection("127.0.0.1", port, opts)
  local w = await far
  local p = {reader = reader, writer = writer}
  local loop = asyncio.get_running_loop()
  function p.feed(data)
    local want = reader:buffered() + #data
    w:write(data)
    await w:drain()
    local deadline = loop:time() + 10
    while reader:buffered() < want do
      assert(loop:time() < deadline, "the data never came")
      await asyncio.sleep(0.001)
    end
  end
  function p.feed_eof() w:write_eof() end
  function p.feed_later(...)
    local pieces = table.pack(...)
    return asyncio.create_task(async function()
      for i = 1, pieces.n do
        await asyncio.sleep(0.02)
        collectgarbage()
        if pieces[i] == false then
          w:write_eof()
        else
          w:write(pieces[i])
          await w:drain()
        end
      end
    end)
  end
  function p.close()
    finish:set()
    writer:close()
    await writer:wait_closed()
    server:close()
    await server:wait_closed()
  end
  return p
end
