-- Ctrl+C while the main chunk waits in a top-level await: the chunk is
-- the main task. The await raises CancelledError (the awaited coroutine's
-- own cleanup sees it first), the chunk's pcall and <close> cleanup run,
-- and alua reports KeyboardInterrupt with status 130. (A <close> variable
-- of the chunk itself sees the message handler's result, as in lua5.4.)
local _ <close> = require "clean_loop"
local pid = io.popen("echo $PPID"):read("l")
local _ <close> = setmetatable({}, {__close = function(_, e)
  print("chunk cleanup:", e)
  asyncio.get_event_loop():close() -- what alua does next
end})
asyncio.get_event_loop():call_later(0.05, function() io.popen("kill -INT " .. pid):close() end)
local ok, e = pcall(function()
  local _ <close> = setmetatable({}, {__close = function(_, e) print("inner cleanup:", e) end})
  await asyncio.sleep(10)
end)
print("pcall:", ok, e)
error(e, 0)
