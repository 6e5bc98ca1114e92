-- Your first alua script: three tasks run at the same time.
-- Run it with:  build/alua scripts/examples/hello.lua

async function greet(name, delay)
  await asyncio.sleep(delay)          -- wait without blocking the others
  print(string.format("hello, %s (after %.1f s)", name, delay))
  return #name
end

async function main()
  local started = asyncio.get_running_loop():time()
  -- start three greetings together and wait for all of them
  local lengths = await asyncio.gather(
    greet("world", 0.3),
    greet("Lua", 0.1),
    greet("asyncio", 0.2)
  )
  local elapsed = asyncio.get_running_loop():time() - started
  print(string.format("all done in %.1f s (not 0.6 s): name lengths %d, %d, %d",
    elapsed, lengths[1], lengths[2], lengths[3]))
end

asyncio.run(main)
