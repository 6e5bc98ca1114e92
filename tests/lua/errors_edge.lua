-- Misuse and limits give clear errors that name the user-facing function
-- and argument (never an internal helper), and never a hang or a crash.
local _ <close> = require "clean_loop"
local function try(f, ...)
  local ok, e = pcall(f, ...)
  print(ok, tostring(e))
end

-- integer limits
local s = asyncio.Semaphore(math.maxinteger)
try(s.release, s)
print(s)

-- __await that is not a function, or gives back its own object
local selfish = setmetatable({}, {})
getmetatable(selfish).__await = function(x) return x end
try(function() await selfish end)
try(function() await setmetatable({}, {__await = 5}) end)
local a, b = {}, {}
setmetatable(a, {__await = function() return b end})
setmetatable(b, {__await = function() return a end})
try(function() await a end)
print(await setmetatable({}, {__await = function() return asyncio.sleep(0, "through __await") end}))

-- results a worker cannot send back, not for any one value's sake
try(function()
  return await asyncio.to_thread(function()
    local t = {}
    for i = 1, 900000 do t[i] = i end
    return table.unpack(t)
  end)
end)

-- the user-facing function and argument, not an internal helper
try(function() await asyncio.wait({5}) end)
try(function() for _ in asyncio.as_completed({function() end, "x"}) do end end)
try(asyncio.shield, nil)
try(asyncio.ExceptionGroup, "m", 5)
try(asyncio.CancelledError, "m", 5)
try(function() await asyncio.getaddrinfo(nil, nil) end)
local f = await asyncio.open(arg[0])
try(function() await f:seek("bogus") end)
try(function() await f:seek("set", "x") end)
print(await f:seek("set", 3))
await f:close()
try(function() await asyncio.create_subprocess_exec("true", {env = 5}) end)
try(function() await asyncio.create_subprocess_shell("true", {cwd = 5}) end)

-- ExceptionGroup keeps whatever values it is given
local eg = asyncio.ExceptionGroup("m", {1, 2, 3})
print(eg, eg.exceptions[3])
eg = asyncio.ExceptionGroup("m", {exceptions = {"x"}, note = "fields"})
print(eg, eg.note)
