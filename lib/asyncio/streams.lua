-- Network streams, servers, UDP endpoints, name resolution and files
-- (SPEC 2.9): the parts that read best in Lua. The hot paths (socket reads
-- and writes, buffers, line scanning, accepting) are C: src/lua/io/stream.c,
-- server.c, udp.c, socket.c, dns.c, file.c. Receives the module table and
-- the C internals.
local M, I = ...

local async, await, iserror = M.async, M.await, M.iserror
local type, error, pcall, xpcall, ipairs, select, tostring = type, error, pcall, xpcall, ipairs, select, tostring
local setmetatable, getmetatable = setmetatable, getmetatable
local format, mtype, concat = string.format, math.type, table.concat

-- "file:line: " of the innermost frame of the user's code (asyncio's own
-- Lua frames skipped), so misuse is reported where it happened.
local where = I.where

local function argerror(n, fname, msg) error(where() .. format("bad argument #%d to '%s' (%s)", n, fname, msg), 0) end

-- The option table of fname (argument n): only the names it knows.
local check_options, known = I.check_options, I.options
local function check_opts(opts, n, fname) return check_options(opts, n, fname, known[fname]) end

-- The option table of a stream function, its values too, checked before
-- any I/O.
local function check_stream_opts(opts, n, fname)
  opts = check_opts(opts, n, fname)
  I.check_stream_opts(opts, fname)
  return opts
end

-- Turns a port argument into what getaddrinfo takes (an integer or a
-- service name), or raises.
local function check_port(port, n, fname, optional)
  if port == nil and optional then return nil end
  if mtype(port) == "integer" then
    if port < 0 or port > 65535 then argerror(n, fname, "port must be 0-65535") end
    return port
  end
  if type(port) == "string" and port ~= "" then return tonumber(port) and math.tointeger(tonumber(port)) or port end
  argerror(n, fname, "port number expected, got " .. type(port))
end

-- An error from a lower layer under the caller's name: the OSError of
-- "sock_connect: ..." becomes one of "open_connection: ...".
local function rename(err, fname)
  if iserror(err, M.OSError) then
    err.message = tostring(err.message):gsub("^[%w_]+: ", fname .. ": ", 1)
    err.call = fname
  elseif type(err) == "string" then
    err = err:gsub("^[%w_]+: ", fname .. ": ", 1)
  end
  return err
end
I.rename_error = rename

-- ----------------------------------------------------------------------
-- Name resolution

local getaddrinfo_c, numeric_family = I.getaddrinfo, I.numeric_family

-- asyncio.getaddrinfo(host, port [, opts]): a list of {family, type,
-- protocol, host, port} for host (nil: the wildcard address); opts: family
-- ("inet" / "inet6"), type ("stream" / "dgram"), passive, canonname. Runs
-- on the worker pool; numeric hosts are answered at once.
M.getaddrinfo = async(function(host, port, opts)
  if host ~= nil and type(host) ~= "string" then argerror(1, "getaddrinfo", "host string or nil expected") end
  if host == nil and port == nil then argerror(1, "getaddrinfo", "host and port cannot both be nil") end
  port = check_port(port, 2, "getaddrinfo", true)
  opts = check_opts(opts, 3, "getaddrinfo")
  local fam = host and numeric_family(host)
  if fam and (port == nil or mtype(port) == "integer") and (opts.family == nil or opts.family == fam)
      and not opts.canonname then
    local types = opts.type and {opts.type} or {"stream", "dgram"}
    local list = {}
    for i, t in ipairs(types) do
      list[i] = {family = fam, type = t, protocol = t == "stream" and 6 or 17, host = host, port = port or 0}
    end
    return list
  end
  return await(getaddrinfo_c(host, port, opts))
end, "getaddrinfo")

-- Addresses to connect to or bind: {family =, host =, port =} tables.
local function resolve(host, port, family, socktype, fname)
  if host ~= nil and type(host) ~= "string" then argerror(1, fname, "host string expected, got " .. type(host)) end
  local fam = host and numeric_family(host)
  if fam and mtype(port) == "integer" then
    if family and family ~= fam then error(format("%s: %s is not an %s address", fname, host, family), 0) end
    return {{family = fam, host = host, port = port}}
  end
  local ok, infos = pcall(await, getaddrinfo_c(host, port, {family = family, type = socktype, passive = host == nil}))
  if not ok then error(rename(infos, fname), 0) end
  if #infos == 0 then error(format("%s: no address found for %s", fname, tostring(host)), 0) end
  return infos
end

-- ----------------------------------------------------------------------
-- TLS (src/lua/io/tls.c): contexts and handshakes

local tls_context, tls_wrap = I.tls_context, I.tls_wrap

-- Contexts made from option tables, kept while the table lives: a program
-- that passes the same table for every connection loads its certificates
-- once. [table] = {[false] = client context, [true] = server context}.
local contexts = setmetatable({}, {__mode = "k"})
local default_client -- the context of tls = true

local function context_for(tls, server, fname)
  if tls == true and not server then
    default_client = default_client or tls_context(true, false, fname)
    return default_client
  end
  if type(tls) ~= "table" then return tls_context(tls, server, fname) end -- raises
  local per = contexts[tls]
  if not per then
    per = {}
    contexts[tls] = per
  end
  local ctx = per[server]
  if not ctx then
    ctx = tls_context(tls, server, fname)
    per[server] = ctx
  end
  return ctx
end

-- Runs the TLS handshake on writer's stream within the handshake timeout
-- (default 60 s). On failure the connection is aborted and the error
-- raised: SSLError, an OS error, TimeoutError or CancelledError.
local function handshake(writer, ctx, hostname, peer, timeout, fname)
  local scope
  local ok, err = pcall(function()
    scope = M.timeout(timeout or 60)
    local _ <close> = scope
    await(tls_wrap(writer, ctx, hostname, peer, fname))
  end)
  if ok then return end
  writer:abort()
  if scope and scope:expired() and iserror(err, M.TimeoutError) then
    err = M.TimeoutError(format("%s: TLS handshake with %s timed out after %g s", fname, peer, timeout or 60))
  end
  error(err, 0)
end

-- "host:port" or "[v6]:port" for messages.
local function peer_name(host, port)
  if host and host:find(":", 1, true) then host = "[" .. host .. "]" end
  return tostring(host) .. (port and ":" .. port or "")
end

-- writer:start_tls(opts): upgrades the connection to TLS in place (the
-- reader and writer go on reading and writing plaintext). opts: the client
-- options of open_connection's tls (server_hostname defaults to the peer's
-- address), or with server_side = true those of start_server's tls. Bytes
-- already received are taken as the start of the handshake.
I.StreamWriter.start_tls = async(function(self, opts)
  if type(opts) ~= "table" and opts ~= true then argerror(1, "start_tls", "option table expected, got " .. type(opts)) end
  local server = type(opts) == "table" and opts.server_side == true
  local ctx = context_for(opts, server, "start_tls")
  local host, port = self:get_extra_info("peername")
  local hostname = not server and (type(opts) == "table" and opts.server_hostname or host) or nil
  handshake(self, ctx, hostname, peer_name(host, port), type(opts) == "table" and opts.handshake_timeout or nil, "start_tls")
end, "start_tls")

-- ----------------------------------------------------------------------
-- Connections

local stream_from_socket = I.stream_from_socket

-- Connects a new socket to each address in turn; the reader and writer of
-- the first that answers. Cancellation (and a timeout scope around the
-- caller) closes the socket being tried.
local function connect_any(infos, opts, fname)
  local loop = M.get_running_loop()
  local errs = {}
  for _, ai in ipairs(infos) do
    local sock = M.socket(ai.family, "stream")
    local ok, err = pcall(await, loop:sock_connect(sock, ai.host, ai.port))
    if ok then return stream_from_socket(sock, opts) end
    sock:close()
    if not iserror(err, M.OSError) then error(err, 0) end -- CancelledError and the like
    errs[#errs + 1] = rename(err, fname)
  end
  if #errs == 1 then error(errs[1], 0) end
  local why = {}
  for i, e in ipairs(errs) do why[i] = e.message end
  error(I.oserror(errs[#errs].errno, fname, "all addresses failed: " .. concat(why, "; ")), 0)
end

-- Runs fn(...) within opts.connect_timeout seconds (TimeoutError after).
local function with_connect_timeout(opts, fn, ...)
  local t = opts.connect_timeout
  if t == nil then return fn(...) end
  if type(t) ~= "number" or not (t >= 0) then error(where() .. "bad option 'connect_timeout' (non-negative number expected)", 0) end
  local _ <close> = M.timeout(t)
  return fn(...)
end

local function open_connection(host, port, opts, ctx)
  local reader, writer
  if opts.sock then
    reader, writer = stream_from_socket(opts.sock, opts)
  else
    local infos = resolve(host, port, opts.family, "stream", "open_connection")
    reader, writer = connect_any(infos, opts, "open_connection")
  end
  if ctx then
    local tls = opts.tls
    local hostname = type(tls) == "table" and tls.server_hostname or host
    local peer = host and peer_name(host, port) or peer_name(writer:get_extra_info("peername"))
    handshake(writer, ctx, hostname, peer, type(tls) == "table" and tls.handshake_timeout or nil, "open_connection")
  end
  return reader, writer
end

-- asyncio.open_connection(host, port [, opts]): reader, writer of a TCP
-- connection. opts: limit, read_timeout, connect_timeout, high_water,
-- low_water, family, sock (an already connected asyncio.socket), tls (true
-- or an option table: TLS on the connection; see start_tls).
M.open_connection = async(function(host, port, opts)
  opts = check_stream_opts(opts, 3, "open_connection")
  if not opts.sock then
    if type(host) ~= "string" then argerror(1, "open_connection", "host string expected, got " .. type(host)) end
    port = check_port(port, 2, "open_connection")
  end
  local ctx = opts.tls ~= nil and opts.tls ~= false and context_for(opts.tls, false, "open_connection") or nil
  return with_connect_timeout(opts, open_connection, host, port, opts, ctx)
end, "open_connection")

local function open_unix(path, opts)
  local sock = M.socket("unix", "stream")
  local ok, err = pcall(await, M.get_running_loop():sock_connect(sock, path))
  if not ok then
    sock:close()
    error(rename(err, "open_unix_connection"), 0)
  end
  return stream_from_socket(sock, opts)
end

-- asyncio.open_unix_connection(path [, opts]): reader, writer of a Unix
-- socket connection ("@name": the abstract namespace).
M.open_unix_connection = async(function(path, opts)
  if type(path) ~= "string" then argerror(1, "open_unix_connection", "socket path expected, got " .. type(path)) end
  opts = check_stream_opts(opts, 2, "open_unix_connection")
  return with_connect_timeout(opts, open_unix, path, opts)
end, "open_unix_connection")

-- ----------------------------------------------------------------------
-- Servers

local traceback = debug and debug.traceback

-- Message handler: the error and the traceback where it was raised.
local function catch(e) return {e, traceback and traceback(nil, 2) or nil} end

local function run_handler(handler, reader, writer)
  local r = handler(reader, writer)
  if M.iscoroutine(r) then return await(r) end
end

-- internals.serve_client: the body of each connection's task. Calls the
-- handler (an async or a plain function), reports its error through the
-- loop's exception handler, and closes the connection (after sending what
-- is queued) when the handler is done, however it ends. (server.c closes
-- it too when the task ends, should the task never run this.)
function I.serve_client(server, handler, reader, writer)
  local ok, res = xpcall(run_handler, catch, handler, reader, writer)
  writer:close()
  if ok then return end
  local err = res[1]
  if iserror(err, M.CancelledError) then error(err, 0) end
  M.get_running_loop():call_exception_handler({
    message = "Unhandled error in connection handler",
    exception = err,
    traceback = res[2],
    task = M.current_task(),
  })
end

local function check_handler(handler, fname)
  if type(handler) ~= "function" and not (getmetatable(handler) and getmetatable(handler).__call) then
    argerror(1, fname, "handler function expected, got " .. type(handler))
  end
end

-- The dispatcher of a TLS server: the handshake first (a client that fails
-- it costs only its own connection, and is not reported), then the handler.
local function tls_dispatch(ctx, timeout)
  return function(server, handler, reader, writer)
    local ok, err = pcall(handshake, writer, ctx, nil, peer_name(writer:get_extra_info("peername")), timeout, "start_server")
    if not ok then
      if iserror(err, M.CancelledError) then error(err, 0) end
      return
    end
    return I.serve_client(server, handler, reader, writer)
  end
end

-- asyncio.start_server(handler, host, port [, opts]): a server calling
-- handler(reader, writer) in a new task per connection. host nil or "":
-- every interface; a list of hosts: each of them. opts: backlog,
-- reuse_address (default true), reuse_port, family, start_serving (default
-- true), accept_retry_delay, sock (a bound socket), tls ({cert =, key =}:
-- each connection's TLS handshake runs before the handler), and the stream
-- options of accepted connections (limit, read_timeout, high_water,
-- low_water).
M.start_server = async(function(handler, host, port, opts)
  check_handler(handler, "start_server")
  opts = check_stream_opts(opts, 4, "start_server")
  local dispatch = I.serve_client
  if opts.tls ~= nil and opts.tls ~= false then
    dispatch = tls_dispatch(context_for(opts.tls, true, "start_server"),
      type(opts.tls) == "table" and opts.tls.handshake_timeout or nil)
  end
  local specs = {}
  if opts.sock then
    specs[1] = {sock = opts.sock}
  else
    port = check_port(port, 3, "start_server")
    local hosts = type(host) == "table" and host or {host}
    if #hosts == 0 then hosts = {false} end
    for _, h in ipairs(hosts) do
      if h == "" or h == false then h = nil end
      for _, ai in ipairs(resolve(h, port, opts.family, "stream", "start_server")) do
        specs[#specs + 1] = {family = ai.family, host = ai.host, port = ai.port}
      end
    end
  end
  return I.server_new(handler, dispatch, specs, opts)
end, "start_server")

-- asyncio.start_unix_server(handler, path [, opts]): the same on a Unix
-- socket; a stale socket file at path is replaced, and removed at close.
M.start_unix_server = async(function(handler, path, opts)
  check_handler(handler, "start_unix_server")
  if type(path) ~= "string" then argerror(2, "start_unix_server", "socket path expected, got " .. type(path)) end
  opts = check_stream_opts(opts, 3, "start_unix_server")
  return I.server_new(handler, I.serve_client, {opts.sock and {sock = opts.sock} or {path = path}}, opts)
end, "start_unix_server")

-- ----------------------------------------------------------------------
-- Reader extras

-- reader:lines([fmt]): for line in reader:lines() do ... end. Lines come
-- without their "\n" ("L": with it), until the end of the stream. The loop
-- body may await; the iterator awaits the next line itself.
function I.StreamReader.lines(self, fmt)
  if fmt ~= nil and fmt ~= "l" and fmt ~= "L" then argerror(1, "lines", "format must be \"l\" or \"L\"") end
  local keep = fmt == "L"
  return function()
    local line = await(self:readline())
    if line == "" then return nil end
    if not keep and line:byte(-1) == 10 then line = line:sub(1, -2) end
    return line
  end
end

-- ----------------------------------------------------------------------
-- UDP

-- Resolves one endpoint address of open_udp.
local function udp_addr(host, port, family, what)
  if host == nil and port == nil then return nil end
  if family == "unix" then return host end
  port = check_port(port or 0, 1, "open_udp")
  if host == nil then host = family == "inet6" and "::" or "0.0.0.0" end
  local ai = resolve(host, port, family, "dgram", "open_udp")[1]
  return ai.host, ai.port, ai.family
end

-- asyncio.open_udp([opts]): a datagram endpoint. opts: local_host,
-- local_port (bind; port 0 picks one), remote_host, remote_port (default
-- peer of send, and the only one recv accepts), family ("inet", "inet6",
-- "unix": then local_path / remote_path), reuse_port, allow_broadcast.
M.open_udp = async(function(opts)
  opts = check_opts(opts, 1, "open_udp")
  local family = opts.family
  if family == "unix" then
    return I.udp_new("unix", opts.local_path, nil, opts.remote_path, nil, opts)
  end
  local lhost, lport, lfam = udp_addr(opts.local_host, opts.local_port, family, "local")
  family = family or lfam
  local rhost, rport, rfam = udp_addr(opts.remote_host, opts.remote_port, family, "remote")
  family = family or rfam or "inet"
  return I.udp_new(family, lhost, lport, rhost, rport, opts)
end, "open_udp")

-- ----------------------------------------------------------------------
-- Files: reads and writes on the worker pool

local CHUNK = 65536

local File = {__name = "asyncio.File"}
File.__index = File

local function checkfile(self, fname)
  if getmetatable(self) ~= File then
    error(where() .. format("calling '%s' on bad self (asyncio.File expected, got %s)", fname, type(self)), 0)
  end
  if self._closed then error(where() .. fname .. ": attempt to use a closed file", 0) end
end

-- Reads one more chunk into the read-ahead buffer; false at the end.
local function fill(self)
  local s = await(self._h:_read(CHUNK))
  if s == "" then return false end
  self._buf = self._buf .. s
  return true
end

-- Drops the read-ahead: moves the position back to where the reader is.
local function unread(self)
  local n = #self._buf
  if n > 0 then
    self._buf = ""
    await(self._h:_seek("cur", -n))
  end
end

local function read_one(self, fmt)
  if mtype(fmt) == "integer" then
    if fmt < 0 then error(where() .. "bad argument to 'read' (negative size)", 0) end
    while #self._buf < fmt and fill(self) do end
    if fmt > 0 and self._buf == "" then return nil end
    local s = self._buf:sub(1, fmt)
    self._buf = self._buf:sub(fmt + 1)
    return s
  end
  if type(fmt) == "string" then fmt = fmt:gsub("^%*", "") end
  if fmt == "a" then
    local parts = {self._buf}
    self._buf = ""
    while true do
      local s = await(self._h:_read(CHUNK * 16))
      if s == "" then break end
      parts[#parts + 1] = s
    end
    return concat(parts)
  end
  if fmt == "l" or fmt == "L" then
    local from = 1
    while true do
      local nl = self._buf:find("\n", from, true)
      if nl then
        local line = self._buf:sub(1, fmt == "l" and nl - 1 or nl)
        self._buf = self._buf:sub(nl + 1)
        return line
      end
      from = #self._buf + 1
      if not fill(self) then
        if self._buf == "" then return nil end
        local line = self._buf
        self._buf = ""
        return line
      end
    end
  end
  error(where() .. format("bad argument to 'read' (invalid format '%s')", tostring(fmt)), 0)
end

-- file:read(...): like Lua's file:read, formats "l" (default), "L", "a"
-- and a byte count; nil at the end of the file (except "a": "").
File.read = async(function(self, ...)
  checkfile(self, "read")
  local _ <close> = await(self._lock:acquire())
  local n = select("#", ...)
  if n == 0 then return read_one(self, "l") end
  local out = {}
  for i = 1, n do
    out[i] = read_one(self, (select(i, ...)))
    if out[i] == nil then return table.unpack(out, 1, i) end
  end
  return table.unpack(out, 1, n)
end, "read")

-- file:write(...): writes strings and numbers; returns the file.
File.write = async(function(self, ...)
  checkfile(self, "write")
  local _ <close> = await(self._lock:acquire())
  unread(self)
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if type(v) ~= "string" and type(v) ~= "number" then
      error(where() .. format("bad argument #%d to 'write' (string expected, got %s)", i, type(v)), 0)
    end
    await(self._h:_write(tostring(v)))
  end
  return self
end, "write")

-- file:seek([whence [, offset]]): "set", "cur" (default) or "end"; returns
-- the new position.
File.seek = async(function(self, whence, offset)
  checkfile(self, "seek")
  local _ <close> = await(self._lock:acquire())
  whence = whence or "cur"
  offset = offset or 0
  if whence ~= "set" and whence ~= "cur" and whence ~= "end" then
    error(where() .. format("bad argument #1 to 'seek' (invalid option '%s')", tostring(whence)), 0)
  end
  if mtype(offset) ~= "integer" then
    error(where() .. format("bad argument #2 to 'seek' (integer expected, got %s)", mtype(offset) or type(offset)), 0)
  end
  if whence == "cur" then offset = offset - #self._buf end
  self._buf = ""
  return await(self._h:_seek(whence, offset))
end, "seek")

-- file:lines([fmt]): for line in f:lines() do ... end (awaits each line).
function File:lines(fmt)
  checkfile(self, "lines")
  fmt = fmt or "l"
  return function() return await(self:read(fmt)) end
end

-- file:close(): waits for the operation in progress, then closes.
File.close = async(function(self)
  if getmetatable(self) ~= File then error(where() .. "calling 'close' on bad self", 0) end
  if self._closed then return true end
  local _ <close> = await(self._lock:acquire())
  self._closed = true
  self._h:_close()
  return true
end, "close")

function File:flush() return M.sleep(0) end -- writes are not buffered

function File:fileno()
  checkfile(self, "fileno")
  return self._h:fileno()
end

-- <close> scopes close at once (an operation in flight finishes first on
-- its own; its descriptor stays open until then).
function File:__close()
  if not self._closed then
    self._closed = true
    self._h:_close()
  end
end

function File:__tostring()
  return self._closed and "<asyncio.File closed>" or format("<asyncio.File %s mode=%s>", self._path, self._mode)
end

-- asyncio.open(path [, mode]): a file whose reads and writes run on the
-- worker pool; modes as io.open ("r", "w", "a", "r+", "w+", "a+", "b"
-- ignored, "x" creates exclusively).
M.open = async(function(path, mode)
  if type(path) ~= "string" then argerror(1, "open", "path string expected, got " .. type(path)) end
  if mode ~= nil and type(mode) ~= "string" then argerror(2, "open", "mode string expected") end
  local h = await(I.file_open(path, mode or "r"))
  return setmetatable({_h = h, _buf = "", _lock = M.Lock(), _path = path, _mode = mode or "r"}, File)
end, "open")
