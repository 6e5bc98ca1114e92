-- asyncio.install_loaders() under the stock lua5.4: require, load, loadfile
-- and dofile translate async/await, and translated code needs nothing from
-- its environment (not even require).
local _ <close> = require "clean_loop"
asyncio = require "asyncio" -- a global, for the chunks below
print(load("return await 1") == nil) -- stock load: a syntax error
asyncio.install_loaders()

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir " .. dir))
local function write(name, text)
  local f = assert(io.open(dir .. "/" .. name, "w"))
  f:write(text)
  f:close()
end
write("amod.lua", [[
local asyncio = require "asyncio"
local M = {}
async function M.twice(x) await asyncio.sleep(0) return 2 * x end
return M
]])
write("afile.lua", "return await asyncio.sleep(0, ... or 'dofile')")
package.path = dir .. "/?.lua;" .. package.path

local amod = require "amod"
print(asyncio.run(amod.twice, 21))
-- (this file was loaded before the loaders were installed: no keywords here)
print(asyncio.run(function() return assert(loadfile(dir .. "/afile.lua"))("loadfile") end))
print(asyncio.run(function() return dofile(dir .. "/afile.lua") end))
print(asyncio.run(load("return await asyncio.sleep(0, 'load')")))

-- an empty environment: no require, no asyncio, not even the string table
local sandboxed = load("local async function f(x) return x + 1 end return await f(...)", "=sandboxed", "t", {})
print(asyncio.run(function() return sandboxed(41) end))
local env = setmetatable({}, {__index = function(_, k) error("looked up " .. k) end})
print(asyncio.run(load("return await (async function() return 'strict env' end)()", "=strict", "t", env)))
-- the hidden fields are not in the string table
local listed = {}
for k in pairs(string) do if k:find("alua") then listed[#listed + 1] = k end end
print(#listed, rawget(string, "__alua_await"), ("").__alua_await == asyncio.await)

os.remove(dir .. "/amod.lua")
os.remove(dir .. "/afile.lua")
os.remove(dir)
