-- A class's metatable is its __index, so Lua code can reach each __gc
-- (obj.__gc(x), getmetatable(obj).__gc(obj)). Only the collector may call
-- it: called from Lua with the object, with another object or with
-- nothing, it raises, and the object goes on working. (Before, such a
-- call read any userdata as its own type, or tore down a running loop.)
local _ <close> = require "clean_loop"

local function call_gc(name, o)
  local gc = getmetatable(o).__gc
  local r = {}
  for _, arg in ipairs({o, io.stdout, 42}) do
    local ok, err = pcall(gc, arg)
    r[#r + 1] = ok and "ran" or err
  end
  local ok, err = pcall(gc)
  r[#r + 1] = ok and "ran" or err
  local same = r[1] == r[2] and r[2] == r[3] and r[3] == r[4]
  print(name .. ":", same and r[1] or table.concat(r, " | "))
end

asyncio.run(async function()
  local loop = asyncio.get_running_loop()
  call_gc("loop", loop)
  print("loop still running:", loop:is_running(), loop:is_closed())

  local server <close> = await asyncio.start_server(async function(reader, writer)
    writer:write("hi " .. await reader:readline())
  end, "127.0.0.1", 0)
  call_gc("server", server)
  local listening = server.sockets[1]
  call_gc("socket", listening)
  local _, port = listening:getsockname()
  local r, w = await asyncio.open_connection("127.0.0.1", port)
  w:write("you\n")
  print("server still serves:", await r:readline())
  w:close()

  local ep <close> = await asyncio.open_udp{local_host = "127.0.0.1", local_port = 0}
  call_gc("udp", ep)
  local host, uport = ep:getsockname()
  ep:send("self", host, uport)
  print("udp still receives:", (await ep:recv()))

  local f = await asyncio.open("gc_explicit.lua")
  call_gc("file handle", f._h)
  print("file still reads:", await f:read("l"))
  await f:close()

  local p = await asyncio.create_subprocess_exec("sh", "-c", "exit 3")
  call_gc("child process", p._child)
  print("process still waited for:", await p:wait())

  local fut = asyncio.Future()
  fut:set_exception("lost")
  call_gc("future", fut)
  print("future still holds:", pcall(fut.result, fut))

  local q = asyncio.Queue()
  local get = q:get()
  call_gc("queue operation", get)
  q:put_nowait("item")
  print("operation still completes:", await get)

  local raw <close> = asyncio.socket("inet", "dgram")
  raw:bind("127.0.0.1", 0)
  ep:send("again", raw:getsockname())
  local readable = asyncio.wait_readable(raw:fileno())
  call_gc("wait_readable", readable)
  print("wait_readable still completes:", await readable)

  local client <close> = asyncio.http.Client()
  call_gc("http multi", client._multi)
end)
