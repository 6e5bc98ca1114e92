-- Fetching many "URLs" at once: a tiny HTTP server and a client that asks
-- it for 30 pages, at most 5 at a time, with a timeout per request.
-- Run it with:  build/alua scripts/examples/fetch_client.lua
-- (Everything runs on 127.0.0.1; the server answers /page/N after N * 5 ms.)

-- The server: reads the request line and the headers, answers after a delay.
async function serve(reader, writer)
  local request = await reader:readline()
  repeat local header = await reader:readline() until header == "\r\n" or header == ""
  local n = tonumber(request:match("^GET /page/(%d+) ")) or 0
  await asyncio.sleep(n * 0.005)
  local body = string.rep("#", n * 100) .. "\n"
  writer:write(string.format("HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s", #body, body))
end

-- The client: one request per connection; returns the status and the body.
async function fetch(port, path)
  local reader, writer <close> = await asyncio.open_connection("127.0.0.1", port, {connect_timeout = 1})
  writer:write("GET " .. path .. " HTTP/1.0\r\nHost: localhost\r\n\r\n")
  local status = tonumber((await reader:readline()):match("^HTTP/%d%.%d (%d+)"))
  local length = 0
  for line in reader:lines() do                 -- headers, until the blank line
    if line == "\r" then break end
    length = tonumber(line:match("^Content%-Length: (%d+)")) or length
  end
  return status, await reader:readexactly(length)
end

async function main()
  local server <close> = await asyncio.start_server(serve, "127.0.0.1", 0)
  local _, port = server.sockets[1]:getsockname()
  local limit = asyncio.Semaphore(5)          -- at most 5 requests in flight
  local loop = asyncio.get_running_loop()
  local started = loop:time()

  async function get(n)
    local _ <close> = await limit:acquire()
    local ok, status, body = pcall(function()
      return await asyncio.wait_for(fetch(port, "/page/" .. n), 2)
    end)
    if not ok or status ~= 200 then return "failed: " .. tostring(status) end
    return #body
  end

  local jobs = {}
  for n = 1, 30 do jobs[n] = get(n) end
  local results = await asyncio.gather(table.unpack(jobs))
  local bytes, failed = 0, 0
  for n = 1, results.n do
    if type(results[n]) == "number" then bytes = bytes + results[n] else failed = failed + 1 end
  end
  print(string.format("%d pages, %d bytes, %d failed in %.2f s (one at a time: %.2f s)",
    results.n, bytes, failed, loop:time() - started, 465 * 0.005))
end

asyncio.run(main)
