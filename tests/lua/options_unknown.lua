-- Every option table takes only the names its function knows: a misspelt
-- option is an error naming it and the function, never silently ignored.
local _ <close> = require "clean_loop"
local function try(f, ...)
  local ok, e = pcall(f, ...)
  print(ok, tostring(e))
end
local async function idle() end
-- coroutine objects that a failing call never takes are closed at the end
local made = {}
local function nothing()
  local c = idle()
  made[#made + 1] = c
  return c
end
local loop = asyncio.get_event_loop()

try(function() await asyncio.open_udp({local_adr = "127.0.0.1"}) end)
try(function() await asyncio.open_connection("127.0.0.1", 1, {limt = 10}) end)
try(function() await asyncio.open_unix_connection("/nonexistent", {timeout = 1}) end)
try(function() await asyncio.start_server(print, "127.0.0.1", 0, {backlg = 5}) end)
try(function() await asyncio.start_unix_server(print, "/tmp/x.sock", {family = "inet"}) end)
try(function() await asyncio.getaddrinfo("localhost", 80, {famliy = "inet"}) end)
try(function() await asyncio.create_subprocess_exec("true", {stdot = asyncio.PIPE}) end)
try(function() await asyncio.create_subprocess_shell("true", {enviroment = {}}) end)
try(asyncio.run, nothing(), {debg = true})
try(asyncio.new_event_loop, {virtualtime = true})
try(asyncio.create_task, nothing(), {nmae = "x"})
try(loop.create_task, loop, nothing(), {nmae = "x"})
try(function() await asyncio.wait({nothing()}, {timout = 1}) end)
try(function() for _ in asyncio.as_completed({nothing()}, {timeuot = 1}) do end end)
try(asyncio.gather, nothing(), {return_exception = true})
try(asyncio.gather, {nothing()}, {return_exception = true})
try(asyncio.gather, {nothing()}, {[1] = true})
try(function() await asyncio.open_udp(5) end)

-- known options still work, and after a function a table with other keys
-- is still an argument of the function
local t = asyncio.create_task(function(x) return x.nmae end, {nmae = "an argument"})
print(await t)
print(asyncio.run(function(opts) return opts.debg end, {debg = "an argument too"}))
print((await asyncio.gather({nothing()}, {return_exceptions = true})).n)
for _, c in ipairs(made) do c:close() end
