-- asyncio.http under load and trouble: 10 MB streamed without buffering
-- it all, 500 requests at once on a pool of connections, servers that
-- stall (timeouts), cancellation in the middle of a body, and what each
-- of those does to the connection.
local _ <close> = require "clean_loop"
local httpd = dofile("support/httpd.lua")
local http = asyncio.http

local function noport(s) return (tostring(s):gsub(":%d+", ":PORT")) end

local MB10 = 10 * 1024 * 1024
local chunk = string.rep("abcdefghijklmnop", 4096) -- 64 KiB

asyncio.run(async function()
  local closed_by_client = asyncio.Event()
  local stalls_ended = 0
  local srv = await httpd.start({
    ["/big"] = function()
      return 200, {["Content-Length"] = tostring(MB10)}, function(write)
        for _ = 1, MB10 // #chunk do write(chunk) end
      end
    end,
    ["/small"] = function(req) return 200, {}, "small " .. req.query end,
    ["/stall"] = function(req, reader) -- never answers; ends when the client leaves
      pcall(function() await reader:read() end)
      stalls_ended = stalls_ended + 1
    end,
    ["/stall-body"] = function(req, reader, writer)
      writer:write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nfirst part;")
      await reader:read()
    end,
    ["/endless"] = function(req, reader, writer)
      writer:write("HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n")
      local ok = pcall(function()
        while true do
          writer:write(chunk)
          await writer:drain()
        end
      end)
      closed_by_client:set()
    end,
  })
  local url = srv.url

  -- 10 MB, read slowly: the client's buffer stays small (the transfer
  -- pauses; TCP pushes back on the server)
  local client <close> = http.Client{max_connections = 100}
  local resp = await client:get(url .. "/big")
  local total, most, pieces = 0, 0, 0
  for piece in resp:chunks(32768) do
    total = total + #piece
    pieces = pieces + 1
    most = math.max(most, resp:buffered())
    if pieces % 16 == 0 then await asyncio.sleep(0.002) end
  end
  print("streamed", total, "bytes; most buffered under 512 KiB:", most < 512 * 1024, most > 0)

  -- the same 10 MB read at once
  resp = await client:get(url .. "/big")
  print("text", #(await resp:text()))

  -- 500 requests at once: at most 100 connections, each kept and reused
  local before = srv.connections
  local tasks = {}
  for i = 1, 500 do
    tasks[i] = asyncio.create_task(async function()
      local r = await client:get(url .. "/small?" .. i)
      return await r:text()
    end)
  end
  local results = await asyncio.gather(table.unpack(tasks))
  local good = 0
  for i = 1, 500 do if results[i] == "small " .. i then good = good + 1 end end
  print("500 requests:", good, "right; connections", srv.connections - before <= 100, "at most open", srv.peak <= 100)

  -- a server that never answers: the request's timeout, with its URL
  local loop = asyncio.get_running_loop()
  local t0 = loop:time()
  local ok, err = pcall(function() return await client:get(url .. "/stall", {timeout = 0.2}) end)
  local took = loop:time() - t0
  print(ok, noport(err), asyncio.iserror(err, asyncio.TimeoutError), noport(err.url), took > 0.15 and took < 2)

  -- one that stops in the middle of the body
  resp = await client:get(url .. "/stall-body", {timeout = 0.3})
  print(resp.status, await resp:read(100))
  ok, err = pcall(function() return await resp:read(100) end)
  print(ok, noport(err))

  -- a timeout scope around a request cancels it: the transfer stops at
  -- once and its connection is closed (the server's handler sees it go)
  t0 = loop:time()
  ok, err = pcall(function()
    local _ <close> = asyncio.timeout(0.1)
    return await client:get(url .. "/stall")
  end)
  print("timeout scope:", ok, noport(err), loop:time() - t0 < 1)
  while stalls_ended < 2 do await asyncio.sleep(0.01) end
  print("the server saw both stalled connections close")

  -- cancelling a task in the middle of a body: the transfer stops, its
  -- connection is closed, and the pool serves the next request
  local one <close> = http.Client{max_connections = 1}
  local got = 0
  local reading = asyncio.create_task(async function()
    local r = await one:get(url .. "/endless")
    for piece in r:chunks() do got = got + #piece end
  end)
  while got < 1000000 do await asyncio.sleep(0.01) end
  reading:cancel()
  print("cancelled:", pcall(function() await reading end))
  await asyncio.wait_for(closed_by_client:wait(), 2)
  print("the server saw the connection close")
  local r2 = await asyncio.wait_for(one:get(url .. "/small?after"), 2)
  print("next request on the same client:", await r2:text())

  -- a response dropped without reading its body releases its transfer
  resp = await one:get(url .. "/big")
  resp = nil
  collectgarbage()
  r2 = await asyncio.wait_for(one:get(url .. "/small?again"), 2)
  print("after a dropped response:", await r2:text())

  await srv.close()
end)
