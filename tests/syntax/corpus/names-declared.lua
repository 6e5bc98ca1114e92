-- Plain Lua 5.4 that declares `await` and `async` as ordinary names. The
-- translator must return this file byte for byte, and it must still run.
local await = function(x) return x end
local async = { await = await }

async.async = async
async["await"] = await
local t = { async = 1, await = 2, ["async"] = 3 }
t.async = t.await + t["async"]
assert(t.async == 5)

-- calls of the local function named await, in every call form
local a = await(1)
local b = await "s"
local c = await { 1, 2 }
local d = await [[long]]
local e = await(await(3))
assert(a == 1 and b == "s" and c[2] == 2 and d == "long" and e == 3)
await(nil)
await "statement"
await { "statement" }

-- await as an operand of operators: subtraction, not unary minus
local await_n = 10
local function sub(await) return await - 1 end
assert(sub(await_n) == 9)
local x = -1
x = (await)(x)
assert(x == -1)

-- fields and methods named async/await
local obj = {}
function obj.await(v) return v end
function obj:async(v) return self, v end
function obj.async_await() return "aa" end
assert(obj.await(4) == 4)
local self_, v = obj:async(5)
assert(self_ == obj and v == 5)
assert(obj["async_await"]() == "aa")
local s = ("await"):upper() .. ("async"):rep(2)
assert(s == "AWAITasyncasync")

-- loops, parameters, labels and attributes named async/await
local sum = 0
for await = 1, 3 do sum = sum + await end
for async, await in ipairs({ 10, 20 }) do sum = sum + async + await end
assert(sum == 6 + 33)
local function params(async, await, ...) return async, await, ... end
assert(select("#", params(1, 2, 3)) == 3)
do
  local async <const> = "const"
  local await <close> = nil
  assert(async == "const" and await == nil)
end
do
  goto await
  ::await::
end
do
  local i = 0
  ::async::
  i = i + 1
  if i < 3 then goto async end
  assert(i == 3)
end

-- a coroutine helper written with the names, as some libraries do
local function spawn(fn, ...)
  local co = coroutine.create(fn)
  return select(2, coroutine.resume(co, ...))
end
async = function(fn) return function(...) return spawn(fn, ...) end end
await = function(v) return v end
local job = async(function(n) return await(n) * 2 end)
assert(job(21) == 42)

-- assignment forms
local q
q, await = await, q
await = q
async, q = q, async

return {
  await = await,
  async = async,
  both = { await, async },
}
