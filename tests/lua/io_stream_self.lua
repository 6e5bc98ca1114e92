-- Reader and writer methods check what they are called on: each method
-- knows its own class (a pointer comparison), so a reader method refuses a
-- writer, a plain table or nothing, and the other way round. The reader's
-- own read operation is awaited through the fast path, also when a second
-- read is asked for before the first was awaited.
local _ <close> = require "clean_loop"
asyncio.run(async function()
  -- echoes what each read brings, upper-cased, in one write
  local server = await asyncio.start_server(async function(reader, writer)
    while true do
      local data = await reader:read(100)
      if data == "" then break end
      writer:write(data:upper())
      await writer:drain()
    end
    writer:close()
  end, "127.0.0.1", 0)
  local _, port = server.sockets[1]:getsockname()
  local reader, writer = await asyncio.open_connection("127.0.0.1", port)
  local R, W = getmetatable(reader), getmetatable(writer)

  local function try(f)
    local ok, err = pcall(f)
    print(ok, (tostring(err):gsub("^[^:]+:%d+: ", "")))
  end
  try(function() return R.read(writer, 10) end)
  try(function() return R.readline({}) end)
  try(function() return R.at_eof() end)
  try(function() return R.buffered(42) end)
  try(function() return W.write(reader, "x") end)
  try(function() return W.drain({}) end)
  try(function() return W.close(nil) end)
  try(function() return W.get_extra_info("peername") end)
  -- the same methods work on what they belong to
  print(R.at_eof(reader), W.is_closing(writer))

  writer:write("one\ntwo\n")
  print(await reader:readline()) -- "TWO\n" came with it
  -- two reads asked for before either is awaited: the first is the
  -- reader's own operation, the second a fresh one
  local first, second = reader:readline(), reader:readline()
  writer:write("three\n")
  print(await first, await second)
  writer:close()
  await writer:wait_closed()
  server:close()
  await server:wait_closed()
end)
