-- An uncaught error prints its message and the traceback chain across
-- awaits (which task awaited which), and alua exits with status 1.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"
local A, await = asyncio.async, asyncio.await

local function parse(text)
  error("cannot parse '" .. text .. "'")
end

local load_config = A(function(name)
  await(asyncio.sleep(0))
  local cfg = parse(name)
  return cfg
end, "load_config")

local main = A(function()
  local t = asyncio.create_task(load_config("settings"), {name = "loader"})
  local cfg = await(t)
  return cfg
end, "main")

print("before")
asyncio.run(main)
print("not reached")
