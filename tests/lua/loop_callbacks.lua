-- The pass order of SPEC 2.6: callbacks ready when a pass begins run in it,
-- due timers join them in (deadline, scheduling) order, and callbacks
-- scheduled during a pass wait for the next one.
local _ <close> = require "clean_loop"
local loop = asyncio.new_event_loop()
local function say(...) print(...) end

local function busy(seconds)
  local stop = os.clock() + seconds
  while os.clock() < stop do end
end

print("-- after a blocking pause, every timer is due in the first pass")
loop:call_later(0.05, say, "call_later 0.05")
loop:call_at(loop:time() + 0.02, say, "call_at +0.02")
local t = loop:time() + 0.03
loop:call_at(t, say, "call_at t (1st)")
loop:call_at(t, say, "call_at t (2nd)")
loop:call_at(t, say, "call_at t (3rd)")
loop:call_later(0, say, "call_later 0")
loop:call_soon(say, "call_soon 1", 1, nil, true)
loop:call_soon(function()
  say("call_soon 2")
  loop:call_soon(say, "scheduled during pass 1")
end)
loop:call_soon(loop.stop, loop)
busy(0.1)
loop:run_forever()
print("-- stopped after pass 1")
loop:call_soon(loop.stop, loop)
loop:run_forever()

print("-- stop() before run_forever: one pass, then return")
loop:call_soon(say, "ran in the single pass")
loop:call_soon(function() loop:call_soon(say, "next pass") end)
loop:stop()
loop:run_forever()
print("-- returned")
loop:call_soon(loop.stop, loop)
loop:run_forever()

print("-- timers fire in deadline order, not scheduling order")
local t0 = loop:time()
for _, d in ipairs({0.04, 0.01, 0.03, 0.02}) do
  loop:call_at(t0 + d, say, "timer", d)
end
loop:call_at(t0 + 0.05, loop.stop, loop)
loop:run_forever()
print("elapsed >= 0.05:", loop:time() - t0 >= 0.05)

print("-- a timer never fires early")
local start = loop:time()
loop:call_later(0.03, function() say("late enough:", loop:time() - start >= 0.03) loop:stop() end)
loop:run_forever()

print("-- state")
print(loop:is_running(), loop:is_closed())
loop:call_soon(function() say("inside:", loop:is_running()) end)
loop:call_soon(loop.stop, loop)
loop:run_forever()
print(tostring(loop))

print("-- run_until_complete")
print(loop:run_until_complete(async function() await asyncio.sleep(0.01) return "done", 2 end))
local fut = loop:create_future()
loop:call_later(0.01, function() fut:set_result("from a timer") end)
print(loop:run_until_complete(fut))
print(pcall(loop.run_until_complete, loop, loop:create_future()))
loop:close()
print(loop:is_running(), loop:is_closed())
loop:close() -- closing twice is fine
print(pcall(loop.call_soon, loop, print))
print(pcall(loop.run_forever, loop))
