-- A consumer waits for a fourth item that the producer never puts.
local _ <close> = require "clean_loop"
async function main()
  local q = asyncio.Queue()
  local producer = asyncio.create_task(async function()
    for i = 1, 3 do
      await(asyncio.sleep(1))
      await(q:put(i))
    end
  end, {name = "producer"})
  local consumer = asyncio.create_task(async function()
    for _ = 1, 4 do print("got", await(q:get())) end
  end, {name = "consumer"})
  await(asyncio.gather(producer, consumer))
end

asyncio.run(main, {virtual_time = true})
