-- Plain Lua 5.4 that uses global variables named `await` and `async`
-- without declaring them, in every position where they are not keywords.
-- The translator must return this file byte for byte.
rawset(_G, "await", setmetatable({ n = 1 }, {
  __call = function(self, v) return v end,
  __index = function(_, k) return k end,
}))
rawset(_G, "async", { n = 2 })

local a = await
local b = async
local _ = tostring(await) .. tostring(async)
local t = { await = await, async = async, await, async }
assert(t[1] == a and t[2] == b)
assert(await.n == 1 and async.n == 2)
await.x = 1
async.x = await.x
await[1] = 2
async[1] = await[1]
local m = await.missing
assert(m == "missing")
local eq = await == a and async ~= await
local cat = tostring(await ~= nil) .. tostring(async)
local arith = async.n * 2 + async.n // 1 + async.n % 2 .. ""
assert(eq and #cat > 0 and arith == "6")
local either = await and async or nil
local f = function(...) return ... end
f(await)
f(async, await)
f(await, 1)
local calls = f(await
)
local nl = await
f(1)
local field = t.await
local method = (t.async)
assert(field == await and method == async and nl == await)
local s = [[
await x
async function f() end
]]
assert(#s > 0 and either and calls)

-- a method named await or async on any object
local o = { await = function(self, v) return v end, async = function() end }
assert(o:await(7) == 7)
o:async()
o.await(o, 1)

-- `async` followed by `function` on the next line: two statements
local last = async
function global_after_async() return last end
assert(global_after_async() == async)

return await
