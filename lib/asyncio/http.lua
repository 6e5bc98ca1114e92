-- asyncio.http: an HTTP client (SPEC 2.10). libcurl does the protocol
-- (HTTP/1.1 keep-alive, HTTP/2, TLS, redirects, proxies from the
-- environment, decompression) on its multi-socket interface, driven by the
-- loop: src/lua/http/http.c. This file is the API: option checking,
-- clients, responses, errors with the URL. Receives the module table and
-- the C internals.
local M, I = ...

local async, await, iserror = M.async, M.await, M.iserror
local type, error, pcall, pairs, ipairs, tostring, next = type, error, pcall, pairs, ipairs, tostring, next
local setmetatable, getmetatable, rawget = setmetatable, getmetatable, rawget
local format, concat, lower, sort = string.format, table.concat, string.lower, table.sort
local mtype = math.type
local http_multi, http_start, http_join = I.http_multi, I.http_start, I.http_join
local where = I.where

local http = {}
M.http = http

local function argerror(n, fname, msg) error(where() .. format("bad argument #%d to '%s' (%s)", n, fname, msg), 0) end
local function opterror(fname, key, msg) error(where() .. format("bad option '%s' to '%s' (%s)", key, fname, msg), 0) end

-- The error value of a memory error (Lua's own message).
local NOMEM = "not enough memory"

-- lua-cjson, one instance of our own, made on first use.
local cjson
local function json()
  cjson = cjson or I.cjson()
  return cjson
end

-- ----------------------------------------------------------------------
-- Options

-- What each option may be; checkers return the value to use, or raise.
local function number(fname, key, v)
  if type(v) ~= "number" or not (v >= 0) then opterror(fname, key, "non-negative number of seconds expected") end
  return v
end
local function boolean(fname, key, v)
  if type(v) ~= "boolean" then opterror(fname, key, "boolean expected") end
  return v
end
local function string_(fname, key, v)
  if type(v) ~= "string" then opterror(fname, key, "string expected") end
  return v
end
local function headers_(fname, key, v)
  if type(v) ~= "table" then opterror(fname, key, "table of header names and values expected") end
  for k, val in pairs(v) do
    if type(k) ~= "string" or k == "" or k:find("[%s:]") or (type(val) ~= "string" and type(val) ~= "number") then
      opterror(fname, key, "header names (strings) and values (strings or numbers) expected")
    end
    if tostring(val):find("[\r\n]") then opterror(fname, key, "header values must not contain line breaks") end
  end
  return v
end
local tls_keys = {verify = boolean, ca_file = string_, ca_path = string_, cert = string_, key = string_}
local function tls_(fname, key, v)
  if v == true then return {} end
  if type(v) ~= "table" then opterror(fname, key, "true or a table of TLS options expected") end
  for k, val in pairs(v) do
    local check = tls_keys[k]
    if not check then opterror(fname, key, "unknown TLS option '" .. tostring(k) .. "'") end
    check(fname, "tls." .. k, val)
  end
  return v
end
local function version_(fname, key, v)
  if v ~= "1.1" and v ~= "2" and v ~= "2-prior-knowledge" then
    opterror(fname, key, "\"1.1\", \"2\" or \"2-prior-knowledge\" expected")
  end
  return v
end
local function redirects_(fname, key, v)
  if mtype(v) ~= "integer" or v < 0 then opterror(fname, key, "non-negative integer expected") end
  return v
end
local function params_(fname, key, v)
  if type(v) ~= "table" then opterror(fname, key, "table of query parameters expected") end
  return v
end
local function any(fname, key, v) return v end

-- Options of a request, and of a client (which gives every request its
-- defaults).
local request_opts = {
  method = string_, url = string_, headers = headers_, body = string_, json = any, params = params_,
  timeout = number, connect_timeout = number, follow_redirects = boolean, max_redirects = redirects_,
  tls = tls_, decompress = boolean, http_version = version_,
}
local client_opts = {
  max_connections = redirects_, base_url = string_, headers = headers_, timeout = number,
  connect_timeout = number, follow_redirects = boolean, max_redirects = redirects_, tls = tls_,
  decompress = boolean, http_version = version_,
}

local function check_opts(opts, n, fname, known)
  if opts == nil then return {} end
  if type(opts) ~= "table" then argerror(n, fname, "option table expected, got " .. type(opts)) end
  local out = {}
  for k, v in pairs(opts) do
    local check = known[k]
    if not check then opterror(fname, tostring(k), "unknown option") end
    out[k] = check(fname, k, v)
  end
  return out
end

-- "%xx" for every byte outside RFC 3986's unreserved set.
local function escape(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return format("%%%02X", c:byte()) end))
end

-- url with the query parameters of the table params added, in name order.
local function add_params(url, params)
  local names = {}
  for k in pairs(params) do names[#names + 1] = tostring(k) end
  sort(names)
  local parts = {}
  for _, k in ipairs(names) do
    local v = params[k]
    if v == nil then v = params[tonumber(k)] end
    if type(v) == "table" then
      for _, item in ipairs(v) do parts[#parts + 1] = escape(k) .. "=" .. escape(item) end
    else
      parts[#parts + 1] = escape(k) .. "=" .. escape(v)
    end
  end
  if #parts == 0 then return url end
  local base, frag = url:match("^([^#]*)(#?.*)$")
  return base .. (base:find("?", 1, true) and "&" or "?") .. concat(parts, "&") .. frag
end

-- ----------------------------------------------------------------------
-- Responses

-- Header fields by name, any case: resp.headers["Content-Type"] and
-- resp.headers["content-type"] are the same field. Names are stored in
-- lower case; a repeated field's values are joined with ", ".
local Headers = {__name = "asyncio.http.Headers"}
function Headers.__index(t, k)
  if type(k) == "string" then
    local lk = lower(k)
    if lk ~= k then return rawget(t, lk) end
  end
  return nil
end

local function make_headers(list)
  local h = {}
  for i = 1, #list, 2 do
    local k = lower(list[i])
    local old = h[k]
    h[k] = old and old .. ", " .. list[i + 1] or list[i + 1]
  end
  return setmetatable(h, Headers)
end

local Response = {__name = "asyncio.http.Response"}
Response.__index = Response
http.Response = Response

local function checkresp(self, fname)
  if getmetatable(self) ~= Response then
    error(where() .. format("calling '%s' on bad self (asyncio.http.Response expected, got %s)", fname, type(self)), 0)
  end
end

-- resp:read([n]): up to n bytes of the body as soon as any are there, ""
-- at its end; without n, the rest of the body. Awaitable.
function Response:read(n)
  checkresp(self, "read")
  if n == nil then return self._tr:read_all("read") end
  if mtype(n) ~= "integer" or n < 0 then argerror(1, "read", "non-negative integer expected") end
  return self._tr:read(n, "read")
end

-- resp:text(): the whole body (the bytes as they came; Lua strings do not
-- decode charsets). Awaitable.
function Response:text()
  checkresp(self, "text")
  return self._tr:read_all("text")
end

-- resp:json(): the body decoded as JSON (lua-cjson; JSON null is
-- asyncio.http.null).
Response.json = async(function(self)
  checkresp(self, "json")
  local s = await(self._tr:read_all("json"))
  local ok, v = pcall(json().decode, s)
  if not ok then
    -- running out of memory says so, not that the body is no JSON
    if v == NOMEM then error(v, 0) end
    error(M.HTTPError(format("json: %s %s: the body is not JSON: %s", self.method, self.url, tostring(v)),
      {url = self.url, method = self.method, status = self.status, reason = tostring(v)}), 0)
  end
  return v
end, "json")

-- resp:chunks([size]): for chunk in resp:chunks() do ... end: the body in
-- pieces of up to size bytes (default 65536) as they arrive.
function Response:chunks(size)
  checkresp(self, "chunks")
  if size ~= nil and (mtype(size) ~= "integer" or size <= 0) then argerror(1, "chunks", "positive integer expected") end
  size = size or 65536
  local tr = self._tr
  return function()
    local s = await(tr:read(size, "chunks"))
    if s ~= "" then return s end
  end
end

-- resp:buffered(): body bytes received and not read yet.
function Response:buffered()
  checkresp(self, "buffered")
  return self._tr:buffered()
end

-- resp:get_all(name): every value of a header field, in order (Set-Cookie).
function Response:get_all(name)
  checkresp(self, "get_all")
  if type(name) ~= "string" then argerror(1, "get_all", "header name expected") end
  local out, list, lname = {}, self._list, lower(name)
  for i = 1, #list, 2 do
    if lower(list[i]) == lname then out[#out + 1] = list[i + 1] end
  end
  return out
end

-- resp:raise_for_status(): raises HTTPError for a status of 400 or more;
-- returns the response otherwise.
function Response:raise_for_status()
  checkresp(self, "raise_for_status")
  if self.status >= 400 then
    error(M.HTTPError(format("%s %s: status %d", self.method, self.url, self.status),
      {url = self.url, method = self.method, status = self.status}), 0)
  end
  return self
end

-- resp:close(): stops receiving the body (the connection is closed unless
-- the body was complete). <close> variables close it.
function Response:close()
  checkresp(self, "close")
  self._tr:close()
end
Response.__close = Response.close

-- A response dropped unread must not hold its transfer (and connection).
function Response:__gc() self._tr:close() end

function Response:__tostring()
  return format("<Response [%d] %s %s>", self.status, self.method, tostring(self.url))
end

-- ----------------------------------------------------------------------
-- Clients

local Client = {__name = "asyncio.http.Client"}
Client.__index = Client

local function checkclient(self, fname)
  if getmetatable(self) ~= Client then
    error(where() .. format("calling '%s' on bad self (asyncio.http.Client expected, got %s)", fname, type(self)), 0)
  end
end

-- "Name: value" lines: the client's headers, then the request's (which
-- replace the client's of the same name, in any case).
local function header_lines(base, extra, json_body)
  local lines, index = {}, {}
  local function add(t)
    for k, v in pairs(t) do
      local lk = lower(k)
      local line = k .. ": " .. tostring(v)
      if index[lk] then lines[index[lk]] = line
      else
        lines[#lines + 1] = line
        index[lk] = #lines
      end
    end
  end
  if base then add(base) end
  if extra then add(extra) end
  if json_body and not index["content-type"] then lines[#lines + 1] = "Content-Type: application/json" end
  return lines
end

-- The first option of the request and the client that is not nil.
local function pick(req, cli, key, def)
  local v = req[key]
  if v == nil then v = cli[key] end
  if v == nil then return def end
  return v
end

-- Starts the request described by the checked options r on client self and
-- returns its response once the headers are in. oneshot: the client was
-- made for this request alone, and closes with its response.
local function perform(self, r, fname, oneshot)
  local c = self._opts
  local method = (r.method or "GET"):upper()
  if not method:find("^[%w%-_]+$") then opterror(fname, "method", "a method name such as \"GET\" expected") end
  local url = r.url
  if not url then argerror(1, fname, "URL expected") end
  if c.base_url then
    local joined = http_join(c.base_url, url)
    if not joined then opterror(fname, "url", "cannot resolve '" .. url .. "' against base_url '" .. c.base_url .. "'") end
    url = joined
  end
  if r.params then url = add_params(url, r.params) end
  local body = r.body
  if r.json ~= nil then
    if body then opterror(fname, "json", "give either body or json, not both") end
    local ok, s = pcall(json().encode, r.json)
    if not ok and s == NOMEM then error(s, 0) end
    if not ok then opterror(fname, "json", "cannot encode: " .. tostring(s)) end
    body = s
  end
  local tls = pick(r, c, "tls", {})
  local spec = {
    fname = fname, method = method, url = url, body = body,
    headers = header_lines(c.headers, r.headers, r.json ~= nil),
    timeout = pick(r, c, "timeout"), connect_timeout = pick(r, c, "connect_timeout"),
    follow = pick(r, c, "follow_redirects", true), max_redirects = pick(r, c, "max_redirects", 10),
    decompress = pick(r, c, "decompress", true), http_version = pick(r, c, "http_version"),
    verify = tls.verify, ca_file = tls.ca_file, ca_path = tls.ca_path, cert = tls.cert, key = tls.key,
    owns_multi = oneshot,
  }
  local tr = http_start(self._multi, spec)
  local status, list, final_url, version, final_method = await(tr:headers(fname))
  return setmetatable({
    status = status, headers = make_headers(list), url = final_url or url, http_version = version,
    method = final_method or method, ok = status < 400, _tr = tr, _list = list,
  }, Response)
end

-- client:request{method =, url =, headers =, body =, json =, params =,
-- timeout =, ...}: a response once its headers are in.
Client.request = async(function(self, r)
  checkclient(self, "request")
  if type(r) ~= "table" then argerror(1, "request", "request table expected, got " .. type(r)) end
  return perform(self, check_opts(r, 1, "client:request", request_opts), "client:request")
end, "request")

-- client:get(url [, opts]) and the other methods.
local function method_of(name, fname)
  return async(function(self, url, opts)
    checkclient(self, fname)
    if type(url) ~= "string" then argerror(1, fname, "URL string expected, got " .. type(url)) end
    local r = check_opts(opts, 2, fname, request_opts)
    r.url, r.method = url, r.method or name
    return perform(self, r, fname)
  end, fname)
end
for _, name in ipairs{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"} do
  Client[lower(name)] = method_of(name, "client:" .. lower(name))
end

-- client:close(): aborts what is running and closes every connection.
function Client:close()
  checkclient(self, "close")
  self._multi:close()
end
Client.__close = Client.close

function Client:__tostring()
  return format("<asyncio.http.Client %s>", tostring(self._multi):match("<http multi (.*)>"))
end

-- asyncio.http.Client([opts]): a client whose requests share a pool of
-- connections (HTTP/1.1 keep-alive, HTTP/2 multiplexing). opts:
-- max_connections (default 100), base_url, headers, timeout,
-- connect_timeout, follow_redirects, max_redirects, tls, decompress,
-- http_version: the defaults of its requests.
function http.Client(opts)
  opts = check_opts(opts, 1, "Client", client_opts)
  local maxconn = opts.max_connections or 100
  if maxconn < 1 then opterror("Client", "max_connections", "must be at least 1") end
  return setmetatable({_multi = http_multi(maxconn), _opts = opts}, Client)
end

-- ----------------------------------------------------------------------
-- One request without a client

-- A request on a client of its own, which closes with the response.
local function oneshot(r, fname)
  local client = http.Client()
  local ok, resp = pcall(perform, client, r, fname, true)
  if not ok then
    client:close()
    error(resp, 0)
  end
  return resp
end

-- asyncio.http.request{method =, url =, ...}
http.request = async(function(r)
  if type(r) ~= "table" then argerror(1, "http.request", "request table expected, got " .. type(r)) end
  return oneshot(check_opts(r, 1, "http.request", request_opts), "http.request")
end, "http.request")

for _, name in ipairs{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"} do
  local fname = "http." .. lower(name)
  http[lower(name)] = async(function(url, opts)
    if type(url) ~= "string" then argerror(1, fname, "URL string expected, got " .. type(url)) end
    local r = check_opts(opts, 2, fname, request_opts)
    r.url, r.method = url, r.method or name
    return oneshot(r, fname)
  end, fname)
end

-- JSON null, as resp:json() returns it and the json option takes it.
setmetatable(http, {__index = function(t, k)
  if k == "null" then return json().null end
end})
