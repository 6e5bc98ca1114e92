-- gather over two children, one of which waits for a Condition nobody
-- notifies: the report follows the gather to that child.
local _ <close> = require "clean_loop"
async function main()
  local cond = asyncio.Condition()
  local fine = asyncio.create_task(async function() await(asyncio.sleep(2)) return "ok" end, {name = "fine"})
  local stuck = asyncio.create_task(async function()
    local g <close> = await(cond:acquire())
    await(cond:wait())
  end, {name = "stuck"})
  await(asyncio.gather(fine, stuck))
end

-- the deadlock is an error run_until_complete raises
local ok, err = pcall(asyncio.run, main, {virtual_time = true})
print(ok)
print(err)
