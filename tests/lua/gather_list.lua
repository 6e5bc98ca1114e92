-- gather, wait and as_completed take one plain list of awaitables, so a
-- list longer than Lua's stack (a million slots: table.unpack fails) needs
-- no call with one argument per awaitable. gather keeps results.n.
local _ <close> = require "clean_loop"
local loop = asyncio.get_event_loop()

-- the list form: coroutine objects, functions, tasks and futures, with the
-- option table after the list
local async function twice(x) await asyncio.sleep(0) return 2 * x end
local f = loop:create_future()
loop:call_soon(function() f:set_result("future") end)
local r = await asyncio.gather({twice(1), function() return "function" end, asyncio.create_task(twice(3)), f})
print(r.n, r[1], r[2], r[3], r[4])
r = await asyncio.gather({twice(1), function() error("boom", 0) end}, {return_exceptions = true})
print(r.n, r[1], r[2])
r = await asyncio.gather({})
print(r.n)
-- the argument form still works, and a lone option table is a gather of nothing
r = await asyncio.gather(twice(5), twice(6), {return_exceptions = true})
print(r.n, r[1], r[2])
r = await asyncio.gather({return_exceptions = true})
print(r.n)
print(pcall(asyncio.gather, {function() end, 5}))

-- more awaitables than Lua's stack holds
local N = 1000001
local done = loop:create_future()
done:set_result(7)
local list = {}
for i = 1, N do list[i] = done end
print(pcall(table.unpack, list))
r = await asyncio.gather(list)
print(r.n, r[1], r[N])
-- wait and as_completed take each future once, however often it is listed
local finished, pending = await asyncio.wait(list)
print(#finished, #pending)
local count = 0
for _ in asyncio.as_completed(list) do count = count + 1 end
print(count)
