-- Coroutine objects made in a loop's last pass, or kept past the loop's
-- end, still warn when they were never awaited: those dropped at once
-- within a pass or two, one that outlives the loop at exit. One awaited
-- later, even after a pass end found it pending, never warns.
local _ <close> = require "clean_loop"
local function mark(s) io.stderr:write(s, "\n") end
local async function work(x) return x end
local kept
asyncio.run(async function()
  local later = work("later")
  await asyncio.sleep(0)
  await asyncio.sleep(0)
  print(await later)
  work("dropped")
  kept = work("kept")
end)
collectgarbage()
collectgarbage()
mark("-- after the loop")
print("end")
