-- What crosses to a worker thread and back: nil, booleans, numbers (integers
-- stay integers), strings (any bytes) and tables of those, nested, with
-- shared subtables and cycles copied faithfully; everything else is refused
-- with an error naming the argument and where the value is.
local _ <close> = require "clean_loop"
local function echo(...) return ... end

local function dump(v, seen)
  seen = seen or {}
  if type(v) ~= "table" then
    return type(v) == "string" and string.format("%q", v) or tostring(v) .. (math.type(v) == "float" and "f" or "")
  end
  if seen[v] then return "<" .. seen[v] .. ">" end
  seen[v] = "t" .. (function() local n = 0 for _ in pairs(seen) do n = n + 1 end return n end)()
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = dump(k, seen) .. "=" .. dump(v[k], seen) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

asyncio.run(async function()
  print("-- values")
  local n, a, b, c, d, e, f, g, h = await asyncio.to_thread(function(...) return select("#", ...), ... end,
    nil, true, false, 42, 4.0, -0.5, "bytes\0\255", math.huge)
  print(n, a, b, c, d, math.type(d), e, math.type(e), f, #g, g:byte(-1), h)
  print(select("#", await asyncio.to_thread(echo)))
  print(select("#", await asyncio.to_thread(echo, nil, nil)))
  print(math.mininteger == await asyncio.to_thread(echo, math.mininteger))
  local nan = await asyncio.to_thread(echo, 0 / 0)
  print(nan ~= nan)

  print("-- nested tables")
  local t = {1, 2, {3, {4, {5}}}, name = "x", [true] = "yes", [1.5] = "float key", list = {"a", "b"}}
  print(dump(await asyncio.to_thread(echo, t)))
  local inner = {"shared"}
  local s = {a = inner, b = inner}
  s.self = s
  local copy = await asyncio.to_thread(echo, s)
  print(copy ~= s, copy.a == copy.b, copy.self == copy, copy.a[1])
  local key = {}
  local k = await asyncio.to_thread(echo, {[key] = key})
  local kk = next(k)
  print(type(kk), k[kk] == kk)
  local deep = {}
  local cur = deep
  for _ = 1, 99 do cur[1] = {} cur = cur[1] end
  print("99 levels:", type(await asyncio.to_thread(echo, deep)))
  cur[1] = {}
  print(pcall(function() return await asyncio.to_thread(echo, deep) end))
  -- results are built in the worker and copied back
  print(dump(await asyncio.to_thread(function(n)
    local r = {}
    for i = 1, n do r[i] = string.rep("x", i) end
    r.total = n
    return r
  end, 3)))

  print("-- refused")
  -- try(fn, ...): awaits asyncio.to_thread(fn, ...) and shows the outcome
  local function try(...)
    local args = table.pack(...)
    local ok, err = pcall(function()
      local r = await asyncio.to_thread(table.unpack(args, 1, args.n))
      return r
    end)
    print(ok, type(err) == "table" and "table code=" .. tostring(err.code) or err)
  end
  local up = 1
  try(function() return up end)
  try(echo, 1, print)
  try(echo, {cb = {print}})
  try(echo, {["a key"] = io.stdout})
  try(echo, {[print] = 1})
  try(echo, setmetatable({}, {}))
  try(echo, coroutine.create(print))
  try(function() return {ok = 1, f = print} end)
  try(function() return 1, io.stdout end)
  try(async function() end)
  try(asyncio.sleep, 1)
  try(42)
  try()
  local loop = asyncio.get_running_loop()
  print(pcall(loop.run_in_executor, loop, {}, echo))
  print(pcall(loop.run_in_executor, loop, nil))
  print(pcall(loop.run_in_executor, loop, nil, echo, print))

  print("-- functions of the standard libraries run in the worker's state")
  print(await asyncio.to_thread(string.rep, "ab", 3, "-"))
  print(await asyncio.to_thread(math.max, 3, 9, 4))
  print(await asyncio.to_thread(select, "#", 1, 2, 3))
  print(await asyncio.to_thread(type, nil))

  print("-- the worker has its own globals: the loop's are not visible")
  _G.only_here = "loop state"
  print(await asyncio.to_thread(function() return only_here, type(asyncio), type(string.rep) end))

  print("-- errors come back as the awaited error")
  try(error, "plain", 0)
  try(error, {code = 5})
  try(function() error(setmetatable({}, {__tostring = function() return "custom" end})) end)
  try(function() local x = nil; return x.field end)
end)
