-- Translated chunks take nothing from their environment: the prelude finds
-- async and await through strings, so an empty env works, and so does one
-- that raises on every lookup.
local _ <close> = require "clean_loop"
local f = load("local aw = ... return await aw", "=empty", "t", {})
print(f(asyncio.sleep(0, "empty env")))
local strict = setmetatable({}, {__index = function(_, k) error("looked up " .. k, 2) end})
local g = load("local async function inc(x) return x + 1 end return await inc(...)", "=strict", "t", strict)
print(g(41))
-- a module that uses the keywords, loaded with a custom env through loadfile
local name = os.tmpname()
local file = assert(io.open(name, "w"))
file:write("return await (async function(v) return v .. ' from loadfile' end)(...)")
file:close()
print(loadfile(name, "t", {})("hello"))
os.remove(name)
-- strings keep their methods, and the string table lists nothing new
print(("abc"):upper(), #("abc"), ("x"):rep(3))
local extra = 0
for k in pairs(string) do if tostring(k):find("alua") then extra = extra + 1 end end
print(extra, rawget(string, "__alua_await"), ("").__alua_await == asyncio.await)
