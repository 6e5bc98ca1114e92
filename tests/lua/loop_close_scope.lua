-- A loop is a to-be-closed value: `local loop <close>` closes it when the
-- scope ends, normally or by an error; closing it again is harmless.
local _ <close> = require "clean_loop"
local kept
do
  local loop <close> = asyncio.new_event_loop()
  kept = loop
  print(loop:run_until_complete(function() return "ran" end))
  print(loop:is_closed())
end
print(kept:is_closed())

local ok, err = pcall(function()
  local loop <close> = asyncio.new_event_loop()
  kept = loop
  error("boom", 0)
end)
print(ok, err, kept:is_closed())
kept:close()

-- closing a running loop from its own scope is an error, as close() is
local loop = asyncio.new_event_loop()
local ok2, err2 = pcall(loop.run_until_complete, loop, function()
  local inner <close> = loop
end)
print(ok2, err2, loop:is_closed())
loop:close()
