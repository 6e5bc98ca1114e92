-- A module written with async/await, loaded by tests/oom/load.lua.
local M = {}
async function M.twice(x)
  await asyncio.sleep(0)
  return 2 * x
end
return M
