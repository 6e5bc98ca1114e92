-- The module makes its less used parts on first use (src/lua/runtime/lazy.c):
-- a program sees what it saw when everything was made up front.
local _ <close> = require "clean_loop"

-- Nothing is made before a name is used, not even the base (a program
-- that never uses asyncio does not pay for it); any name of the base makes
-- it, with the loop's metatable.
print(next(asyncio), rawget(debug.getregistry(), "asyncio.Loop"))
print(type(asyncio.sleep), type(rawget(debug.getregistry(), "asyncio.Loop")))

-- A part is not there before one of its names is used; that name makes it
-- whole.
print(rawget(asyncio, "TaskGroup"), rawget(asyncio, "Condition"), rawget(asyncio, "open_connection"))
print(type(asyncio.Condition), type(rawget(asyncio, "Barrier")), rawget(asyncio, "TaskGroup"))
print(asyncio.no_such_name, rawget(asyncio, "TaskGroup"))

-- Methods a part adds to the loop.
local loop = asyncio.new_event_loop()
print(rawget(debug.getmetatable(loop), "sock_recv"), type(loop.sock_recv), type(rawget(asyncio, "open_connection")))
loop:close()

-- A name the program set before its part was made stays the program's.
local function mine() end
asyncio.wait_for = mine
print(type(asyncio.timeout), asyncio.wait_for == mine)

-- The library's own uses make parts too: asyncio.run gathers the tasks
-- main left behind.
print(rawget(asyncio, "gather"))
asyncio.run(asyncio.async(function()
  asyncio.create_task(asyncio.async(function() asyncio.await(asyncio.sleep(10)) end)())
end))
print(type(rawget(asyncio, "gather")))

-- pairs makes every part on the way, so it lists every name; next stays raw.
local all = {}
for k, v in pairs(asyncio) do all[k] = type(v) end
print(all.TaskGroup, all.http, all.ps, all.create_subprocess_exec, all.PIPE, all.to_thread)
print(rawget(asyncio, "http") ~= nil, next(asyncio) ~= nil)

-- Every name, used alone in a program of its own, is there with the same
-- type: the map the build generates misses none. So is every method of
-- the loop.
local function fresh(expr)
  local p = assert(io.popen(string.format("%q -e %q 2>&1", arg[-1], "io.write(type(" .. expr .. "))")))
  local out = p:read("a")
  p:close()
  return out
end
local names = {}
for k in pairs(all) do names[#names + 1] = k end
table.sort(names)
local differ = {}
for _, k in ipairs(names) do
  local got = fresh("asyncio[" .. string.format("%q", k) .. "]")
  if got ~= all[k] then differ[#differ + 1] = k .. ": " .. got end
end
local loop2 = asyncio.new_event_loop()
local methods = {}
for k, v in next, debug.getmetatable(loop2) do
  if type(k) == "string" and type(v) == "function" and not k:match("^__") then methods[#methods + 1] = k end
end
loop2:close()
table.sort(methods)
for _, m in ipairs(methods) do
  local got = fresh("asyncio.new_event_loop()." .. m)
  if got ~= "function" then differ[#differ + 1] = "loop:" .. m .. ": " .. got end
end
print(#names > 100, #methods > 20, #differ == 0 and "none differ" or table.concat(differ, "; "))
