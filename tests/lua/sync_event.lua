-- Event: wait returns at once when set, set wakes every waiter in order,
-- clear afterwards does not undo that, cancelled waiters drop out.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"

local ev = asyncio.Event()
print(ev, ev:is_set())
asyncio.get_event_loop():call_soon(function() ev:set() end)
print("top-level wait:", await ev:wait(), ev)

async function main()
  local e = asyncio.Event()
  local order = {}
  local waiter = async function(name)
    local r = await e:wait()
    order[#order + 1] = name
    return r
  end
  local ts = {}
  for i = 1, 5 do ts[i] = asyncio.create_task(waiter("w" .. i)) end
  await asyncio.sleep(0)
  print(e)
  ts[3]:cancel()
  await asyncio.sleep(0)
  print("after a cancel:", e)
  e:set()
  e:clear() -- the woken waiters still run
  ts[6] = {return_exceptions = true}
  local rs = await asyncio.gather(table.unpack(ts))
  print("woken:", table.concat(order, " "), rs[1], asyncio.iserror(rs[3], asyncio.CancelledError), e:is_set())

  -- set twice, clear, wait again
  e:set()
  e:set()
  print("set:", await e:wait(), e)
  e:clear()
  local later = asyncio.create_task(async function() return await e:wait() end)
  await asyncio.sleep(0.001)
  print("still waiting:", later:done(), e)
  e:set()
  print("then:", await later)

  -- many idle waiters cost nothing but their tasks
  local many = asyncio.Event()
  local count = 0
  local idle = {}
  for i = 1, 2000 do
    idle[i] = asyncio.create_task(async function() await many:wait(); count = count + 1 end)
  end
  await asyncio.sleep(0)
  print(tostring(many))
  many:set()
  await asyncio.gather(table.unpack(idle))
  print("all woken:", count)
end

asyncio.run(main)
