-- Descriptors the host or a C library owns: loop:add_reader / add_writer
-- call a function in every pass in which the descriptor is ready, and
-- tasks wait for readiness with asyncio.wait_readable / wait_writable.
-- Here the descriptors are sockets' (sock:fileno()).
local _ <close> = require "clean_loop"
local loop = asyncio.get_event_loop()

local function listener()
  local s = asyncio.socket()
  s:bind("127.0.0.1", 0)
  s:listen()
  return s, select(2, s:getsockname())
end

-- a reader callback runs with its arguments once a client connects, and
-- keeps running while the descriptor stays ready
local server, port = listener()
local fd = server:fileno()
local calls = 0
local got = loop:create_future()
local h = loop:add_reader(fd, function(a, b)
  calls = calls + 1
  if calls == 3 then got:set_result(a .. b) end
end, "x", "y")
print(h)
local reader, writer = await asyncio.open_connection("127.0.0.1", port)
print(await got, calls >= 3)
local before = calls
print(loop:remove_reader(fd), loop:remove_reader(fd))
await asyncio.sleep(0)
print("no call after remove_reader:", calls == before)
local client = await loop:sock_accept(server)
client:close()
writer:close()

-- a task waits for the descriptor; a cancelled wait takes its interest back
local server2, port2 = listener()
local fd2 = server2:fileno()
print(pcall(asyncio.await, asyncio.wait_for(asyncio.wait_readable(fd2), 0.05)))
local waiter = asyncio.create_task(async function()
  await asyncio.wait_readable(fd2)
  return "readable"
end)
await asyncio.sleep(0)
local reader2, writer2 = await asyncio.open_connection("127.0.0.1", port2)
print(await waiter)
print(await asyncio.wait_readable(server2), "(an object with fileno() will do)")
writer2:close()

-- add_writer: a socket with room in its buffer is writable at once
local udp = asyncio.socket("inet", "dgram")
local n = 0
local done = loop:create_future()
loop:add_writer(udp:fileno(), function()
  n = n + 1
  if n == 2 then loop:remove_writer(udp:fileno()); done:set_result(n) end
end)
print(await done, loop:remove_writer(udp:fileno()))
print(await asyncio.wait_writable(udp:fileno()))

-- handle:cancel() removes the callback, as remove_reader does
local hh = loop:add_reader(fd2, function() print("never") end)
hh:cancel()
print(hh:cancelled(), loop:remove_reader(fd2))

-- a replaced callback is cancelled
local first = loop:add_reader(fd2, print)
local second = loop:add_reader(fd2, print)
print(first:cancelled(), second:cancelled(), loop:remove_reader(fd2))

-- errors
print(pcall(loop.add_reader, loop, "x", print))
print(pcall(loop.add_reader, loop, -1, print))
print(pcall(loop.add_reader, loop, fd2))
print(pcall(asyncio.wait_readable, {}))
local bad = loop:add_reader(fd2, print)
loop:remove_reader(fd2)
local ok, e = pcall(loop.add_reader, loop, 1000000, print)
print(ok, asyncio.iserror(e, asyncio.OSError), e.errno, e.call)
-- a descriptor a stream already watches
local r3, w3 = await asyncio.open_connection("127.0.0.1", port2)
local sfd = w3:get_extra_info("socket"):fileno()
print(pcall(loop.add_reader, loop, sfd, print))
print(pcall(asyncio.await, asyncio.wait_readable(sfd)))
w3:close()
server:close()
server2:close()
udp:close()
