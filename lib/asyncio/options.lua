-- Option tables: the Lua twin of src/lua/runtime/options.c (SPEC 2.8).
-- Every option table of the API takes only the names its function knows; a
-- misspelt one is an error naming it and the function. Receives the module
-- table and the C internals.
local M, I = ...

local type, next, error, format, concat = type, next, error, string.format, table.concat
local where = I.where

-- Sets of names, made once per list.
local sets = setmetatable({}, {__mode = "k"})

local function set_of(known)
  local s = sets[known]
  if not s then
    s = {}
    for i = 1, #known do s[known[i]] = true end
    sets[known] = s
  end
  return s
end

-- I.check_options(opts, argn, fname, known): opts is nil or a table whose
-- keys are all names in the list known; raises, positioned at the user's
-- code, "bad option 'x' to 'fname' (unknown option; options are ...)"
-- otherwise. Returns opts, or an empty table for nil.
function I.check_options(opts, argn, fname, known)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(where() .. format("bad argument #%d to '%s' (option table expected, got %s)", argn, fname, type(opts)), 0)
  end
  local s = set_of(known)
  for k in next, opts do
    if type(k) ~= "string" or not s[k] then
      local what = type(k) == "string" and format("bad option '%s' to '%s' (unknown option; ", k, fname)
        or format("bad option table to '%s' (%s key; ", fname, type(k))
      local names = #known > 0 and "options are " .. concat(known, ", ") or "it takes none"
      error(where() .. what .. names .. ")", 0)
    end
  end
  return opts
end

-- The options of each function that takes a table of them (the stream
-- options of open_connection and start_server are those of the streams
-- they make; tls is the TLS table of SPEC 2.10).
local stream = {"limit", "read_timeout", "high_water", "low_water"}
local function with(list, ...)
  local out = {...}
  for i = 1, #list do out[#out + 1] = list[i] end
  return out
end
I.options = {
  getaddrinfo = {"family", "type", "passive", "canonname"},
  open_connection = with(stream, "family", "sock", "connect_timeout", "tls"),
  open_unix_connection = with(stream, "sock", "connect_timeout", "tls"),
  start_server = with(stream, "family", "sock", "backlog", "reuse_address", "reuse_port", "start_serving",
    "accept_retry_delay", "tls"),
  start_unix_server = with(stream, "sock", "backlog", "start_serving", "accept_retry_delay", "tls"),
  open_udp = {"family", "local_host", "local_port", "remote_host", "remote_port", "local_path", "remote_path",
    "reuse_port", "allow_broadcast"},
  create_subprocess = with(stream, "stdin", "stdout", "stderr", "cwd", "env", "executable", "start_new_session"),
  run = {"debug", "virtual_time"},
  wait = {"timeout", "return_when"},
  as_completed = {"timeout"},
}
