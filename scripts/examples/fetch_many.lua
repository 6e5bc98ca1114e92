-- Fetching many pages at once with asyncio.http: the asyncio tutorials'
-- classic, against a local server this script starts itself (so it needs
-- no network). 40 pages, at most 8 connections, a timeout per page; pages
-- are reported as they finish, and the slow and missing ones as failures.
-- Compare scripts/examples/fetch_client.lua, which speaks HTTP by hand.
-- Run it with:  build/alua scripts/examples/fetch_many.lua [pages]

local pages = tonumber(arg[1]) or 40

-- The server: HTTP/1.1 with keep-alive. /page/N answers after N * 5 ms;
-- pages divisible by 13 take 5 s, those divisible by 11 do not exist.
local function answer(reader, writer)  -- a plain function may await too
  for request in reader:lines() do
    repeat local line = await reader:readline() until line == "\r\n" or line == ""
    local n = tonumber(request:match("^GET /page/(%d+) ")) or 0
    local status, body = 200, ("<p>page %d</p>\n"):format(n):rep(n)
    if n % 11 == 0 then status, body = 404, "no such page\n" end
    await asyncio.sleep(n % 13 == 0 and 5 or n * 0.005)
    writer:write(("HTTP/1.1 %d %s\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s")
      :format(status, status == 200 and "OK" or "Not Found", #body, body))
    await writer:drain()
  end
end

async function serve(reader, writer)
  -- a client that gave up on a slow page closes its connection: that is
  -- no error of the server's
  local ok, err = pcall(answer, reader, writer)
  if not ok and not asyncio.iserror(err, asyncio.ConnectionError) then error(err, 0) end
end

async function main()
  local server <close> = await asyncio.start_server(serve, "127.0.0.1", 0)
  local _, port = server.sockets[1]:getsockname()
  local loop = asyncio.get_running_loop()
  local started = loop:time()

  -- one client: its 8 connections are kept open and reused for every page
  local client <close> = asyncio.http.Client{
    base_url = ("http://127.0.0.1:%d/"):format(port),
    max_connections = 8,
    timeout = 1,                                -- seconds per page, waiting for a connection included
  }

  -- one page: its size, or why it failed
  async function fetch(n)
    local ok, result = pcall(function()
      local resp = await client:get("page/" .. n)
      resp:raise_for_status()                   -- 404 becomes an HTTPError
      return #(await resp:text())
    end)
    if ok then return n, result end
    return n, nil, result
  end

  local jobs = {}
  for n = 1, pages do jobs[n] = asyncio.create_task(fetch(n)) end
  local bytes, failed = 0, 0
  for job in asyncio.as_completed(jobs) do      -- in the order they finish
    local n, size, err = await job
    if size then
      bytes = bytes + size
      print(("%6.3f s  page %2d  %5d bytes"):format(loop:time() - started, n, size))
    else
      failed = failed + 1
      local why = asyncio.iserror(err, asyncio.TimeoutError) and "timed out" or err.message
      print(("%6.3f s  page %2d  failed: %s"):format(loop:time() - started, n, why))
    end
  end
  print(("%d pages, %d bytes, %d failed, in %.2f s"):format(pages, bytes, failed, loop:time() - started))
  server:close()                                -- (handlers of timed-out pages still sleep)
end

asyncio.run(main)
