-- A small HTTP/1.1 server on alua's own streams, for the HTTP client's
-- tests: keep-alive, Content-Length request bodies, and routes.
--
--   local httpd = dofile("support/httpd.lua")
--   local srv = await httpd.start(routes [, opts])   -- opts: tls (start_server's)
--   srv.url            "http://127.0.0.1:PORT" (https:// with tls)
--   srv.connections    connections accepted so far
--   srv.open, srv.peak connections open now, and the most at once
--   srv.requests       requests answered
--   srv:close()        (awaitable) stops it and closes every connection
--
-- routes[path] = function(req, reader, writer) with req = {method =, path =,
-- query =, headers = {lower-case name = value}, body =}; it returns status,
-- headers (a table), body (a string, or a function(writer) that writes the
-- body and returns nothing: then the response is chunked), or nothing when
-- it answered by itself (the connection is then closed). Unknown paths get
-- 404.
local httpd = {}

local reasons = {[200] = "OK", [204] = "No Content", [301] = "Moved Permanently", [302] = "Found",
                 [303] = "See Other", [307] = "Temporary Redirect", [404] = "Not Found", [500] = "Internal Server Error"}

-- Reads one request, or nil at the end of the connection (or when the
-- client does not speak HTTP).
local async function read_request(reader)
  local line = await reader:readline()
  if line == "" then return nil end
  local method, target = line:match("^(%u+) (%S+) HTTP/1%.%d\r\n$")
  if not method then return nil end -- not HTTP: hang up
  local headers = {}
  while true do
    local h = await reader:readline()
    if h == "\r\n" or h == "" then break end
    local k, v = h:match("^([^:]+):%s*(.-)%s*$")
    headers[k:lower()] = v
  end
  local body = ""
  local len = tonumber(headers["content-length"] or 0)
  if len > 0 then body = await reader:readexactly(len) end
  local path, query = target:match("^([^?]*)%??(.*)$")
  return {method = method, path = path, query = query, headers = headers, body = body}
end

local async function respond(writer, status, headers, body)
  local lines = {string.format("HTTP/1.1 %d %s\r\n", status, reasons[status] or "Status")}
  local chunked = type(body) == "function"
  headers = headers or {}
  for k, v in pairs(headers) do lines[#lines + 1] = k .. ": " .. v .. "\r\n" end
  if chunked then lines[#lines + 1] = "Transfer-Encoding: chunked\r\n"
  elseif not headers["Content-Length"] then lines[#lines + 1] = "Content-Length: " .. #(body or "") .. "\r\n" end
  lines[#lines + 1] = "\r\n"
  writer:write(table.concat(lines))
  if chunked then
    body(function(data)
      if #data > 0 then writer:write(string.format("%x\r\n%s\r\n", #data, data)) end
      await writer:drain()
    end)
    writer:write("0\r\n\r\n")
  elseif body then
    writer:write(body)
  end
  await writer:drain()
end

function httpd.start(routes, opts)
  opts = opts or {}
  local srv = {connections = 0, open = 0, peak = 0, requests = 0, writers = {}}
  local async function serve(reader, writer)
    srv.connections = srv.connections + 1
    srv.open = srv.open + 1
    srv.peak = math.max(srv.peak, srv.open)
    srv.writers[writer] = true
    local _ <close> = setmetatable({}, {__close = function()
      srv.open = srv.open - 1
      srv.writers[writer] = nil
    end})
    -- a client that leaves in the middle is no error of the server's
    local ok, err = pcall(function()
      while true do
        local req = await read_request(reader)
        if not req then return end
        local route = routes[req.path]
        local status, headers, body
        if route then status, headers, body = route(req, reader, writer)
        else status, body = 404, "no such page\n" end
        if not status then return end
        await respond(writer, status, headers, body)
        srv.requests = srv.requests + 1
        if req.headers.connection == "close" then return end
      end
    end)
    if not ok and not asyncio.iserror(err, asyncio.ConnectionError) then error(err, 0) end
  end
  return asyncio.create_task(async function()
    local server = await asyncio.start_server(serve, "127.0.0.1", 0, {tls = opts.tls})
    local _, port = server.sockets[1]:getsockname()
    srv.port = port
    srv.url = (opts.tls and "https" or "http") .. "://127.0.0.1:" .. port
    srv.close = async function()
      server:close()
      for w in pairs(srv.writers) do w:close() end
      await server:wait_closed()
    end
    return srv
  end)
end

return httpd
