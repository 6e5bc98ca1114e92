-- A failed task whose error's __tostring raises is still reported, with
-- the task's name and traceback: nothing about the failure is lost.
local _ <close> = require "clean_loop"
local bad = setmetatable({}, {__tostring = function() error("tostring exploded", 0) end})
local t = asyncio.create_task(function() error(bad) end, {name = "worker"})
await asyncio.sleep(0.01)
print(t:done())
