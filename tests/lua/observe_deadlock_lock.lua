-- Two tasks take two locks in opposite orders: the deadlock report names
-- the cycle, and alua exits with status 1.
local _ <close> = require "clean_loop"
local a_lock, b_lock = asyncio.Lock(), asyncio.Lock()

async function worker(first, second)
  local g <close> = await(first:acquire())
  await(asyncio.sleep(1))
  local h <close> = await(second:acquire())
end

async function main()
  local a = asyncio.create_task(worker, a_lock, b_lock, {name = "a"})
  local b = asyncio.create_task(worker, b_lock, a_lock, {name = "b"})
  await(a)
  await(b)
end

asyncio.run(main, {virtual_time = true})
print("not reached")
