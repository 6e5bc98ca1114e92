-- An error raised in a worker thread and never caught: alua shows the
-- worker's traceback first, then the tasks that awaited it.
local _ <close> = require "clean_loop"
local function parse(text)
  local function field(name)
    error("missing field '" .. name .. "'")
  end
  field("id")
end

asyncio.run(async function()
  print("before")
  await asyncio.to_thread(parse, "{}")
  print("not reached")
end)
