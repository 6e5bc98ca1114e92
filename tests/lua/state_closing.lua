-- Finalizers that run while the state closes (after the main chunk, once
-- the loops are closed) cannot make an event loop, nor what needs one: Lua
-- would give what they make no finalizer of its own, so it would never be
-- closed (a loop's descriptor, an HTTP client's libcurl handles).
local _ <close> = require "clean_loop"

keep = setmetatable({}, {__gc = function()
  print("new_event_loop:", pcall(asyncio.new_event_loop))
  print("get_event_loop:", pcall(asyncio.get_event_loop))
  print("http.Client:", pcall(asyncio.http.Client))
  -- what needs no loop still works
  local ok, q = pcall(asyncio.Queue)
  print("Queue:", ok, q:qsize())
end})

-- until then, everything works
print(await asyncio.sleep(0, "awaited"))
