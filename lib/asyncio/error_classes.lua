-- The error classes only some programs meet (queues, streams, barriers,
-- the operating system's failures, HTTP, task groups), made on first use of
-- one of them; the others and the rules they share are errors.lua's.
local M, I = ...

local define = I.define_error

define("QueueEmpty")
define("QueueFull")
define("QueueShutDown")
define("IncompleteReadError")
define("LimitOverrunError")
define("BrokenBarrierError")

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
