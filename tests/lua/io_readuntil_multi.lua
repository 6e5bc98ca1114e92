-- reader:readuntil with a list of separators, as Python 3.13's readuntil
-- with a tuple: the record ends at the match that ends first (of matches
-- that end together, the shortest separator's), a record that comes in
-- pieces, LimitOverrunError and its `consumed` counted as asyncio counts
-- them, IncompleteReadError at the end of the stream, and the argument
-- errors.
local _ <close> = require "clean_loop"

local function show(ok, e)
  if ok then return (string.format("%q", e):gsub("\\\n", "\\n")) end
  local s = e.type .. ": " .. e.message
  if e.consumed then s = s .. " consumed=" .. e.consumed end
  if e.partial then s = s .. string.format(" partial=%q", e.partial):gsub("\\\n", "\\n") end
  return s
end

local function try(aw) return show(pcall(function() return await aw end)) end

local pair = require "stream_pair" -- a connection whose far end the test drives

asyncio.run(async function()
  print("-- the match that ends first")
  do
    local p = pair()
    p.feed("one;two|three\r\nfour\nABCDEFGxabc")
    local r = p.reader
    print(try(r:readuntil({"|", ";", "\n"})))
    print(try(r:readuntil({"|", ";", "\n"})))
    print(try(r:readuntil({"\r\n", "\n"})))
    print(try(r:readuntil({"\r\n", "\n"})))
    print(try(r:readuntil({"DEF", "BCDE"})))  -- BCDE ends first, though longer
    print(try(r:readuntil({"abc", "b"})))     -- b ends first, though abc starts first
    print("left", r:buffered())
    p.close()
  end

  print("-- a tie at the same offset: the shortest")
  do
    local p = pair()
    p.feed("a\r\nb\r\n")
    local r = p.reader
    print(try(r:readuntil({"\r\n", "\r"})))
    print(try(r:readuntil({"\r\n", "\r"})))
    print(try(r:read(1)))
    p.close()
  end

  print("-- a record in pieces")
  do
    local p = pair()
    p.feed("GET / HTTP/1.1\r\nHost")
    local list = {"\r\n\r\n", "\n\n"}
    local op = p.reader:readuntil(list)
    list[1], list[2] = "Host", "GET" -- checked and kept when called
    local feeder = p.feed_later(": x\r", "\n", "\r", "\nbody")
    print(try(op))
    await feeder
    feeder = p.feed_later("d", "a", "t", "a", "\r\n")
    print(try(p.reader:readuntil({"\r\n", "\n", "END"})))
    await feeder
    print("left", p.reader:buffered())
    p.close()
  end

  print("-- limits")
  do
    local p = pair({limit = 8})
    local r = p.reader
    p.feed("0123456789\n")
    print(try(r:readuntil({"\n", "END"})))  -- found at 10
    print("left", r:buffered())
    await r:read(11)
    p.feed("12345678\r\n")
    print(try(r:readuntil({"\r\n", "\n"}))) -- "\n" is the match, at 9
    print(try(r:readuntil("\r\n")))         -- alone, "\r\n" at 8 fits
    p.feed("abcdefghijkl")
    print(try(r:readuntil({"\n", "STOP"}))) -- 12 - 4 + 1 bytes cannot begin STOP
    print(try(r:readuntil("\n")))           -- alone, 12 cannot begin "\n"
    print("left", r:buffered())
    p.close()
  end

  print("-- the end of the stream")
  do
    local p = pair()
    local feeder = p.feed_later("last\r", false)
    print(try(p.reader:readuntil({"\r\n", "\n"})))
    await feeder
    print(try(p.reader:readuntil({"\r\n", "\n"})))
    p.close()
  end

  print("-- argument errors")
  do
    local p = pair()
    local r = p.reader
    print(pcall(r.readuntil, r, {}))
    print(pcall(r.readuntil, r, {"\n", ""}))
    print(pcall(r.readuntil, r, {"\n", 10}))
    print(pcall(r.readuntil, r, {"\n", {}}))
    print(pcall(r.readuntil, r, {nil, "\n"}))
    -- each item is read once
    local reads = 0
    local list = setmetatable({}, {__len = function() return 2 end,
      __index = function(_, i) reads = reads + 1; return i == 1 and "\n" or ";" end})
    p.feed("a;b\n")
    print(try(r:readuntil(list)), "reads " .. reads)
    print(try(r:readuntil({"\n"})))           -- a list of one
    p.close()
  end
end)
