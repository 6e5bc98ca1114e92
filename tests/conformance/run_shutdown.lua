-- asyncio.run cancels the tasks main leaves behind, waits for them (their
-- cleanup runs), and reports the errors they end with.
local _ <close> = require "clean_loop"
async function lingering(name)
  local _ <close> = setmetatable({}, {__close = function() print(name .. " cleaned up") end})
  await asyncio.sleep(10)
end

async function stubborn()
  local ok = pcall(asyncio.await, asyncio.sleep(10))
  error("stubborn failed during shutdown", 0)
end

print(asyncio.run(async function()
  asyncio.create_task(lingering("first"))
  asyncio.create_task(lingering("second"))
  asyncio.create_task(stubborn(), {name = "stubborn"})
  await asyncio.sleep(0)
  return "main result"
end))
print(#asyncio.all_tasks())
