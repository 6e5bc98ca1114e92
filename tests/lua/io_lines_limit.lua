-- Line protocols with a limit: LimitOverrunError with `consumed`, readline
-- skipping an overlong line and going on, readuntil leaving the data,
-- IncompleteReadError with `partial` and `expected`, partial last lines.
local _ <close> = require "clean_loop"
local function show(ok, e)
  if ok then return "ok " .. string.format("%q", e) end
  local s = e.type .. ": " .. e.message
  if e.consumed then s = s .. " consumed=" .. e.consumed end
  if e.partial then s = s .. string.format(" partial=%q", e.partial) end
  if e.expected then s = s .. " expected=" .. e.expected end
  return s
end

local function try(aw) return show(pcall(function() return await aw end)) end

asyncio.run(async function()
  local results = asyncio.Queue()
  local server = await asyncio.start_server(function(reader, writer)
    local log = {}
    log[#log + 1] = "limit " .. reader:get_limit()
    log[#log + 1] = try(reader:readline())                 -- fits
    log[#log + 1] = try(reader:readline())                 -- 20 bytes before "\n": too long, dropped
    log[#log + 1] = try(reader:readline())                 -- the next line is fine
    log[#log + 1] = try(reader:readuntil("END"))           -- separator beyond the limit: data stays
    log[#log + 1] = try(reader:readexactly(10))
    log[#log + 1] = try(reader:readuntil("END"))
    log[#log + 1] = try(reader:readline())                 -- no newline, more than limit: dropped
    log[#log + 1] = try(reader:readexactly(4))
    log[#log + 1] = try(reader:readexactly(10))            -- only 3 bytes, then EOF
    log[#log + 1] = try(reader:readline())
    log[#log + 1] = tostring(reader:at_eof())
    await results:put(log)
  end, "127.0.0.1", 0, {limit = 16})
  local _, port = server.sockets[1]:getsockname()
  local r, w = await asyncio.open_connection("127.0.0.1", port)
  w:write("short line\n")
  w:write(string.rep("x", 20) .. "\n")
  w:write("next\n")
  w:write("0123456789abcdefghEND")
  w:write(string.rep("y", 30))
  w:write("\nabcd")
  w:write("xyz")
  w:write_eof()
  for _, line in ipairs(await results:get()) do print(line) end
  w:close()

  -- readuntil at the end of the stream without the separator; the last
  -- partial line of readline; lines() with and without the newline
  server:close()
  server = await asyncio.start_server(function(reader, writer)
    writer:write("a\nb\nc")
    writer:write_eof()
  end, "127.0.0.1", 0)
  _, port = server.sockets[1]:getsockname()
  r, w = await asyncio.open_connection("127.0.0.1", port)
  print(try(r:readline()), try(r:readuntil("zz")), try(r:readline()))
  w:close()
  r, w = await asyncio.open_connection("127.0.0.1", port)
  local got = {}
  for line in r:lines("L") do got[#got + 1] = string.format("%q", line) end
  print(table.concat(got, " "))
  w:close()
  server:close()

  -- argument errors
  print(pcall(function() return r:readexactly(-1) end))
  print(pcall(function() return r:readuntil("") end))
  print(pcall(function() return r:read(-2) end))
  print(pcall(function() return r:lines("x") end))
  print(pcall(function() return await asyncio.start_server(print, "127.0.0.1", 0, {limit = 0}) end))
  print(pcall(function() return await asyncio.start_server(print, "127.0.0.1", 0, {high_water = 10, low_water = 20}) end))
end)
