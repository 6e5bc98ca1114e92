-- Tasks left waiting at the end of the script for an event nobody sets:
-- alua reports them instead of exiting quietly, and exits with status 1.
local _ <close> = require "clean_loop"
asyncio.set_event_loop(asyncio.new_event_loop({virtual_time = true}))
local ready = asyncio.Event()
for i = 1, 2 do
  asyncio.create_task(async function()
    await(ready:wait())
    print("never")
  end, {name = "waiter " .. i})
end
print("main chunk done")
