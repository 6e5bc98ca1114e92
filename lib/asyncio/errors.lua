-- The asyncio error classes (SPEC 2.8). An error is a table with fields
-- `type`, `message` and `traceback`; its metatable is its class, and a class
-- knows its parent, so asyncio.iserror(e, cls) follows the chain.
local M, I = ...

local classes = {}

local function describe(e)
  local msg = rawget(e, "message")
  if msg == nil or msg == "" then return e.type end
  return e.type .. ": " .. tostring(msg)
end

local function define(name, parent, extra)
  local cls = {
    type = name,
    parent = parent,
    __name = name,
    __tostring = extra and extra.__tostring or describe,
  }
  cls.__index = cls
  setmetatable(cls, {
    __index = parent,
    __tostring = function() return "<class '" .. name .. "'>" end,
    -- cls(message, fields): a new error of this class.
    __call = function(c, message, fields)
      if extra and extra.__call then return extra.__call(c, message, fields) end
      local e = {type = name, message = message == nil and "" or message}
      if fields ~= nil then
        if type(fields) ~= "table" then
          error(I.where() .. string.format("bad argument #2 to '%s' (table of fields expected, got %s)", name,
            type(fields)), 0)
        end
        for k, v in pairs(fields) do e[k] = v end
      end
      return setmetatable(e, c)
    end,
  })
  classes[name] = cls
  M[name] = cls
  return cls
end

define("CancelledError")
define("TimeoutError")
define("InvalidStateError")
define("QueueEmpty")
define("QueueFull")
define("QueueShutDown")
define("IncompleteReadError")
define("LimitOverrunError")
define("BrokenBarrierError")
define("KeyboardInterrupt")

-- Operating-system failures, as Python names them: an OSError carries
-- errno, strerror and call (the function that failed); the subclass says
-- which failure it is, so asyncio.iserror(e, asyncio.ConnectionError) works.
-- The kernel's ETIMEDOUT stays a plain OSError: asyncio.TimeoutError means
-- an asyncio timeout ran out.
local OSError = define("OSError")
define("BlockingIOError", OSError)
define("ChildProcessError", OSError)
local ConnectionError = define("ConnectionError", OSError)
define("BrokenPipeError", ConnectionError)
define("ConnectionAbortedError", ConnectionError)
define("ConnectionRefusedError", ConnectionError)
define("ConnectionResetError", ConnectionError)
define("FileExistsError", OSError)
define("FileNotFoundError", OSError)
define("InterruptedError", OSError)
define("IsADirectoryError", OSError)
define("NotADirectoryError", OSError)
define("PermissionError", OSError)
define("ProcessLookupError", OSError)
-- TLS failures (handshake, certificate verification), an OSError as in
-- Python (errno EPROTO, strerror = reason): fields reason, and verify_code
-- / verify_message when the peer's certificate was refused.
define("SSLError", OSError)
-- HTTP failures that are not the network's (a malformed or truncated
-- response, too many redirects, raise_for_status): fields url, method, and
-- reason, status or curl_code.
define("HTTPError")
-- ExceptionGroup(message, exceptions): exceptions is the list of the
-- errors it holds, whatever values they are (in Lua any value can be an
-- error); ExceptionGroup(message, {exceptions = list, ...}) gives fields.
define("ExceptionGroup", nil, {
  __call = function(c, message, list)
    local e = {type = "ExceptionGroup", message = message == nil and "" or message}
    if list ~= nil and type(list) ~= "table" then
      error(I.where() .. "bad argument #2 to 'ExceptionGroup' (list of errors expected, got " .. type(list) .. ")", 0)
    end
    if list ~= nil and getmetatable(list) == nil and rawget(list, "exceptions") ~= nil then
      for k, v in pairs(list) do e[k] = v end
    else
      local exceptions = {}
      if list then
        local n = list.n or #list
        for i = 1, n do exceptions[i] = list[i] end
      end
      e.exceptions = exceptions
    end
    return setmetatable(e, c)
  end,
  __tostring = function(e)
    local n = e.exceptions and #e.exceptions or 0
    return string.format("ExceptionGroup: %s (%d sub-exception%s)",
      tostring(e.message), n, n == 1 and "" or "s")
  end,
})

-- asyncio.iserror(v [, cls]): v is an asyncio error (of class cls or a subclass).
function M.iserror(v, cls)
  if type(v) ~= "table" then return false end
  local mt = getmetatable(v)
  if type(mt) ~= "table" or classes[rawget(mt, "type")] ~= mt then return false end
  if cls == nil then return true end
  if type(cls) ~= "table" or classes[rawget(cls, "type")] ~= cls then
    error("bad argument #2 to 'iserror' (asyncio error class expected, got " .. type(cls) .. ")", 2)
  end
  while mt do
    if mt == cls then return true end
    mt = rawget(mt, "parent")
  end
  return false
end

I.errors = classes
