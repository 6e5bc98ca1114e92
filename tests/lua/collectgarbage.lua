-- collectgarbage: alua's own (a full collection also gives the allocator's
-- free pages back, see tests/api/test_memory.c) answers every option as
-- Lua 5.4's does.
local _ <close> = require "clean_loop"

print(collectgarbage(), collectgarbage("collect"), math.type(collectgarbage("count")))
print(collectgarbage("step"), collectgarbage("isrunning"))
print(collectgarbage("incremental"), collectgarbage("generational"),
      collectgarbage("incremental", 200, 100, 13), collectgarbage("generational", 20, 100))
print(collectgarbage("setpause", 200), collectgarbage("setstepmul", 100))
print(collectgarbage("stop"), collectgarbage("isrunning"), collectgarbage("restart"),
      collectgarbage("isrunning"))
print(pcall(collectgarbage, "x"))
print(pcall(collectgarbage, "step", "a"))
print(pcall(collectgarbage, "generational", 1, {}))
print(select("#", collectgarbage("collect")))
-- inside a finalizer lua_gc refuses: fail, as Lua's collectgarbage answers
setmetatable({}, {__gc = function() print("in a finalizer:", collectgarbage("count"), collectgarbage()) end})
collectgarbage()
