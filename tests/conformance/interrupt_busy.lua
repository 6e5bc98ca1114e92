-- Ctrl+C while main only ever yields with sleep(0) (resumed through the
-- ready queue, never parked on a future): it is still cancelled at its next
-- await, and run raises KeyboardInterrupt even though main re-raised the
-- CancelledError itself.
local _ <close> = require "clean_loop"
local pid = io.popen("echo $PPID"):read("l")

async function main()
  local spins = 0
  local ok, e = pcall(function()
    while true do
      spins = spins + 1
      if spins == 10 then io.popen("kill -INT " .. pid):close() end
      await asyncio.sleep(0)
    end
  end)
  print("spun past the signal:", spins >= 10, tostring(e))
  error(asyncio.CancelledError(), 0)
end

asyncio.run(main)
