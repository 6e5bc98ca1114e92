-- loop:run_until_complete(aw) stops the way asyncio's does: from a done
-- callback of aw, so what is already queued when aw completes runs before
-- it returns: aw's done callbacks, call_soon calls made by its final step
-- and timers already due. run_until_complete(); close() loses nothing.
local _ <close> = require "clean_loop"
local loop = asyncio.new_event_loop()
local log = {}
local function note(s) return function() log[#log + 1] = s end end

local late
local t = loop:create_task(function()
  loop:call_soon(note("call_soon from the final step"))
  loop:call_later(0, note("timer due at once"))
  late = loop:call_later(30, note("timer not due: never runs"))
  return "result"
end)
t:add_done_callback(note("done callback"))
print(loop:run_until_complete(t))
late:cancel() -- a clean close
loop:close()
for i, s in ipairs(log) do print(i, s) end

-- a future that is already done still gets its one pass, as in asyncio
local loop2 = asyncio.new_event_loop()
local f = loop2:create_future()
f:set_result(42)
f:add_done_callback(note("done callback of a finished future"))
print(loop2:run_until_complete(f))
loop2:close()
print(log[#log])

-- a top-level await stops the same way
local loop3 = asyncio.get_event_loop()
local t3 = asyncio.create_task(function() loop3:call_soon(note("call_soon after a top-level await")) end)
await t3
print(log[#log])
