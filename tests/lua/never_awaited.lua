-- A coroutine object that is collected without being awaited or scheduled
-- prints a warning naming its function and where it was defined.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"
local A, await = asyncio.async, asyncio.await

local fetch = A(function() return 1 end, "fetch")
local anonymous = A(function() return 2 end)

local lost = fetch()
lost = nil
collectgarbage()
collectgarbage()
print("after first collection")
do local x = anonymous() end
collectgarbage()
collectgarbage()
-- awaited, scheduled or explicitly closed: no warning
local a = fetch(); await(a)
local b = fetch(); asyncio.create_task(b)
local c = fetch(); c:close()
a, b, c = nil, nil, nil
collectgarbage()
collectgarbage()
print(asyncio.iscoroutine(fetch()), asyncio.iscoroutinefunction(fetch), asyncio.iscoroutinefunction(print))
print("end")
