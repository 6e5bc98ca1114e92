-- Handles: cancel(), cancelled(), when(), tostring, cancelled timers leaving
-- the heap, call_soon_threadsafe, and argument errors.
local _ <close> = require "clean_loop"
local loop = asyncio.new_event_loop()
local function say(...) print(...) end
local function show(h) return (tostring(h):gsub("when=[%d.]+", "when=N")) end

print("-- cancel before the pass")
local h1 = loop:call_soon(say, "never")
local h2 = loop:call_later(0, say, "never either")
local h3 = loop:call_soon(say, "runs")
print(show(h1), show(h2))
h1:cancel()
h2:cancel()
h2:cancel() -- twice is fine
print(h1:cancelled(), h2:cancelled(), h3:cancelled())
print(show(h1), show(h2))
loop:call_soon(loop.stop, loop)
loop:run_forever()

print("-- a callback cancels later ones of the same pass")
local later_soon, later_timer
loop:call_soon(function()
  say("first")
  later_soon:cancel()
  later_timer:cancel()
end)
later_soon = loop:call_soon(say, "cancelled soon")
later_timer = loop:call_later(0, say, "cancelled timer")
loop:call_soon(loop.stop, loop)
local stop = os.clock() + 0.01
while os.clock() < stop do end -- the timer is due in the same pass
loop:run_forever()

print("-- cancelling after the run changes nothing but the flag")
local ran = loop:call_soon(say, "ran")
loop:call_soon(loop.stop, loop)
loop:run_forever()
ran:cancel()
print(ran:cancelled())

print("-- when()")
local t = loop:time() + 100
local at = loop:call_at(t, say)
local soon = loop:call_soon(say, "a plain handle runs")
print(at:when() == t, at.when ~= nil, soon.when == nil)
local before = loop:time()
local later = loop:call_later(5, say)
print(later:when() >= before + 5, later:when() <= loop:time() + 5)
print(at:get_loop() == loop)

print("-- a cancelled timer leaves the heap: nothing left, so a deadlock is seen at once")
for _, h in ipairs({at, later}) do h:cancel() end
local far = loop:call_later(3600, say, "far")
far:cancel()
local t0 = loop:time()
print(pcall(loop.run_until_complete, loop, loop:create_future()))
print("at once:", loop:time() - t0 < 1)

print("-- infinite delays never fire, negative ones fire at once")
local never = loop:call_later(math.huge, say, "never")
loop:call_later(-5, say, "negative delay")
loop:call_at(-1, say, "call_at in the past")
loop:call_later(0.01, loop.stop, loop)
loop:run_forever()
never:cancel()

print("-- call_soon_threadsafe")
local f = loop:create_future()
loop:call_soon_threadsafe(function(v) f:set_result(v) end, "posted")
print(loop:run_until_complete(f)) -- no deadlock: the posted handle is pending
local c = loop:call_soon_threadsafe(say, "cancelled threadsafe")
print(show(c))
c:cancel()
print(c:cancelled())
loop:call_soon_threadsafe(say, "threadsafe runs")
loop:call_soon(loop.stop, loop)
loop:run_forever()
loop:call_soon(loop.stop, loop)
loop:run_forever()

print("-- callable tables")
local callable = setmetatable({}, {__call = function(self, x) say("called with", x) end})
loop:call_soon(callable, 42)
loop:call_soon(loop.stop, loop)
loop:run_forever()

print("-- argument errors")
local function try(...) print(select(2, pcall(...))) end
try(loop.call_soon, loop)
try(loop.call_soon, loop, 42)
try(loop.call_soon, loop, asyncio.sleep(1))
try(loop.call_soon, loop, async function() end)
try(loop.call_later, loop, "1", say)
try(loop.call_later, loop, 0 / 0, say)
try(loop.call_at, loop, 0 / 0, say)
try(loop.call_later, loop, 1)
try(loop.call_soon_threadsafe, loop, {})
try(h1.cancel, {})
try(loop.call_soon, {}, say)
loop:close()
try(loop.call_soon, loop, say)
try(loop.call_later, loop, 1, say)
try(loop.call_soon_threadsafe, loop, say)
print(h3:cancel(), h3:cancelled())
