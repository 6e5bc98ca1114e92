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

-- What every class shares: tostring(cls), and cls(message, fields), which
-- makes a new error of the class.
local function class_tostring(c) return "<class '" .. rawget(c, "type") .. "'>" end

local function new_error(c, message, fields)
  local e = {type = rawget(c, "type"), message = message == nil and "" or message}
  if fields then for k, v in pairs(fields) do e[k] = v end end
  return setmetatable(e, c)
end

-- The metatable of the classes whose parent is `parent` (one per parent).
local metas = {}
local function meta_of(parent)
  local key = parent or metas
  local m = metas[key]
  if not m then
    m = {__index = parent, __tostring = class_tostring, __call = new_error}
    metas[key] = m
  end
  return m
end

local function define(name, parent, extra)
  local cls = {
    type = name,
    parent = parent,
    __name = name,
    __tostring = extra and extra.__tostring or describe,
    __index = false,
  }
  cls.__index = cls
  setmetatable(cls, meta_of(parent))
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
define("ExceptionGroup", nil, {
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
