-- The module under the stock lua5.4 interpreter: require "asyncio" loads
-- asyncio.so, and everything works as in alua.
local lua_yield = coroutine.yield -- Lua's own, taken before asyncio loads
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"
local A, await = asyncio.async, asyncio.await
print(type(asyncio), package.loaded.asyncio == asyncio, require("asyncio") == asyncio)

local double = A(function(x)
  await(asyncio.sleep(0.001))
  return x * 2
end, "double")

local results = asyncio.run(A(function()
  local tasks = {}
  for i = 1, 5 do tasks[i] = asyncio.create_task(double(i)) end
  return await(asyncio.gather(table.unpack(tasks)))
end))
print(table.concat(results, " "), results.n)
-- top-level await works under lua5.4 as well
print(await(double(21)))
-- the translator is there for lua5.4 users
local chunk = asyncio.load("local async function f(x) return x + 1 end return await f(1)")
print(chunk and "loaded" or "failed")
print(asyncio.iserror(asyncio.TimeoutError("late"), asyncio.TimeoutError), tostring(asyncio.TimeoutError("late")))
-- the parts made on first use are made under lua5.4 too, and pairs lists them
print(rawget(asyncio, "TaskGroup"), type(asyncio.TaskGroup), type(rawget(asyncio, "TaskGroup")))
local n = 0
for k in pairs(asyncio) do if k == "create_subprocess_exec" or k == "http" then n = n + 1 end end
print(n)
-- loading asyncio installed its coroutine.yield, which raises inside a
-- task; a task that yields with a copy of Lua's own fails all the same
print(coroutine.yield ~= lua_yield, pcall(asyncio.run, A(function() lua_yield() end)))
