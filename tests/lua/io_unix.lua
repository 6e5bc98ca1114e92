-- Unix sockets: echo through a socket file, a stale file replaced, the file
-- removed at close, the abstract namespace, connecting to nothing.
local _ <close> = require "clean_loop"
local path = os.tmpname()
os.remove(path)
local function exists(p) return os.execute("test -e '" .. p .. "'") == true end

local function echo(reader, writer)
  for line in reader:lines("L") do
    writer:write(line:upper())
    await writer:drain()
  end
end

asyncio.run(async function()
  local server = await asyncio.start_unix_server(echo, path)
  print(server.sockets[1]:getsockname() == path, server.sockets[1]:family())
  local r, w = await asyncio.open_unix_connection(path)
  print(tostring(w) == "<StreamWriter peer=" .. path .. ">")
  w:write("hello\nworld\n")
  print(await r:readline(), await r:readline())
  -- a large payload in lines
  local lines = {}
  for i = 1, 50000 do lines[i] = "line " .. i .. "\n" end
  local all = table.concat(lines)
  local reader = asyncio.create_task(function() return await r:readexactly(#all) end)
  w:write(all)
  w:write_eof()
  print(await reader == all:upper(), await r:read() == "")
  w:close()
  server:close()
  await server:wait_closed()
  print("file removed:", not exists(path))

  -- a stale socket file (nobody listening) is replaced
  local s = asyncio.socket("unix")
  s:bind(path)
  s:close()
  print("stale file there:", exists(path))
  server = await asyncio.start_unix_server(echo, path)
  local r2, w2 <close> = await asyncio.open_unix_connection(path)
  w2:write("again\n")
  print(await r2:readline())
  -- a live socket file is not taken over
  local ok, err = pcall(function() return await asyncio.start_unix_server(echo, path) end)
  print(ok, tostring(err) == "OSError: start_unix_server: cannot listen on " .. path .. ": Address already in use",
        err.errno, err.call)
  server:close()
  print("file removed:", not exists(path))

  -- the abstract namespace leaves no file
  local name = "@alua-test-" .. tostring(os.time()) .. "-" .. tostring(math.random(1 << 30))
  local abstract = await asyncio.start_unix_server(echo, name)
  print(abstract.sockets[1]:getsockname() == name)
  local r3, w3 <close> = await asyncio.open_unix_connection(name)
  w3:write("abstract\n")
  print(await r3:readline())
  abstract:close()

  local ok, err = pcall(function() return await asyncio.open_unix_connection(path) end)
  print(ok, tostring(err) == "FileNotFoundError: open_unix_connection: connect to " .. path .. ": No such file or directory",
        err.call)
end)
