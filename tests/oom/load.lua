-- Out-of-memory sweep: the loaders that translate async/await: require of
-- a module written with it, load of a string and of a reader function,
-- loadfile, dofile, asyncio.translate, and a syntax error in async code.
package.path = "support/?.lua;" .. package.path
local mod = require "asyncmod"
local chunks = {"local x = ... ", "return async function() ", "await asyncio.sleep(0) return x + 1 end"}
local i = 0
local from_reader = assert(load(function() i = i + 1; return chunks[i] end, "=pieces"))(41)
local from_string = assert(load("return async function(a) return await asyncio.sleep(0, a) end"))()
local bad, err = load("local async function f() await end", "=bad")
-- load returns its errors, running out of memory among them
if err:find("not enough memory", 1, true) then error(err, 0) end
print("syntax", bad, err)
print("translate", asyncio.translate("await g()"):find("__alua_await(g())", 1, true) ~= nil)
local dofiled = dofile("support/asyncmod.lua")
local loadfiled = assert(loadfile("support/asyncmod.lua"))()
asyncio.run(async function()
  print("require", await mod.twice(4), package.loaded.asyncmod == mod)
  print("load", await from_reader(), await from_string("s"))
  print("dofile", await dofiled.twice(5), await loadfiled.twice(6))
end)
