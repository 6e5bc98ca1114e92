-- Stream readers as CPython's own suite checks them: each block names the
-- test of Lib/test/test_asyncio/test_streams.py it mirrors. CPython feeds a
-- StreamReader directly; here the far end of a loopback connection writes,
-- and `feed` waits until the bytes are in the reader's buffer, so what
-- each read finds does not depend on timing.
local _ <close> = require "clean_loop"
local function check(name, cond) print(name, cond and "ok" or "FAILED") end
local function iserr(e, cls) return asyncio.iserror(e, cls) end

-- The error a read raises (nil if it returns).
local function err_of(read)
  local ok, e = pcall(function() return await read end)
  if not ok then return e end
end

local pair = require "stream_pair" -- a connection whose far end the test drives

local function reads()
  -- test_read_zero: read(0) returns "" and leaves the buffer alone
  do
    local p = pair()
    p.feed("data")
    check("read_zero", await p.reader:read(0) == "" and p.reader:buffered() == 4)
    p.close()
  end

  -- test_read_line_breaks: read(n) returns up to n bytes, across what came
  -- in separate pieces
  do
    local p = pair()
    p.feed("line1")
    p.feed("line2")
    check("read_line_breaks", await p.reader:read(5) == "line1" and await p.reader:read(5) == "line2")
    p.close()
  end

  -- test_read_eof: a read waiting when the stream ends returns ""
  do
    local p = pair()
    local feeder = p.feed_later(false)
    check("read_eof", await p.reader:read(1024) == "")
    await feeder
    p.close()
  end

  -- test_read_until_eof: read(-1) gathers everything up to the end
  do
    local p = pair()
    local feeder = p.feed_later("chunk1\n", "chunk2", false)
    local data = await p.reader:read(-1)
    await feeder
    check("read_until_eof", data == "chunk1\nchunk2" and p.reader:buffered() == 0)
    p.close()
  end
end

local function readlines()
  -- test_readline: a line made of several pieces; what follows it stays
  do
    local p = pair()
    p.feed("chunk1 ")
    local feeder = p.feed_later("chunk2 ", "chunk3 \n chunk4")
    local line = await p.reader:readline()
    await feeder
    check("readline", line == "chunk1 chunk2 chunk3 \n" and p.reader:buffered() == #" chunk4")
    p.close()
  end

  -- test_readline_limit_with_existing_data: an overlong line raises and is
  -- dropped up to its "\n"; without a "\n", everything buffered is
  do
    local p = pair({limit = 3})
    p.feed("li")
    p.feed("ne1\nline2\n")
    local e = err_of(p.reader:readline())
    local left = p.reader:buffered()
    p.close()
    local q = pair({limit = 3})
    q.feed("li")
    q.feed("ne1")
    q.feed("li")
    local e2 = err_of(q.reader:readline())
    check("readline_limit_with_existing_data", iserr(e, asyncio.LimitOverrunError) and left == #"line2\n"
      and iserr(e2, asyncio.LimitOverrunError) and q.reader:buffered() == 0)
    q.close()
  end

  -- test_at_eof: only once the end came and nothing is buffered
  do
    local p = pair()
    local before = p.reader:at_eof()
    p.feed("some data\n")
    local fed = p.reader:at_eof()
    await p.reader:readline()
    local read = p.reader:at_eof()
    p.feed_eof()
    await p.reader:readline()
    check("at_eof", not before and not fed and not read and p.reader:at_eof())
    p.close()
  end

  -- test_readline_limit: the limit counts the line without its "\n"; an
  -- overlong line is dropped, the next one stays
  do
    local p = pair({limit = 7})
    local feeder = p.feed_later("chunk1", "chunk2\n", "chunk3\n", false)
    local e = err_of(p.reader:readline())
    await feeder
    local rest = await p.reader:read(-1)
    p.close()
    local q = pair({limit = 7})
    q.feed("1234567\n")
    local line = await q.reader:readline()
    q.feed("12345678\n")
    local e2 = err_of(q.reader:readline())
    local left2 = q.reader:buffered()
    q.feed("12345678")
    local e3 = err_of(q.reader:readline())
    check("readline_limit", iserr(e, asyncio.LimitOverrunError) and rest == "chunk3\n" and line == "1234567\n"
      and iserr(e2, asyncio.LimitOverrunError) and left2 == 0 and iserr(e3, asyncio.LimitOverrunError)
      and q.reader:buffered() == 0)
    q.close()
  end

  -- test_readline_nolimit_nowait, test_readline_read_byte_count
  do
    local p = pair()
    p.feed("line1\nline2\nline3\n")
    local line = await p.reader:readline()
    local left = p.reader:buffered()
    check("readline_nolimit_nowait", line == "line1\n" and left == #"line2\nline3\n"
      and await p.reader:read(7) == "line2\nl" and p.reader:buffered() == #"ine3\n")
    p.close()
  end

  -- test_readline_eof, test_readline_empty_eof: the last partial line,
  -- then ""
  do
    local p = pair()
    p.feed("some data")
    p.feed_eof()
    check("readline_eof", await p.reader:readline() == "some data" and await p.reader:readline() == "")
    p.close()
  end
end

local function readuntils()
  -- test_readuntil_separator: an empty separator is refused, in a list
  -- too, and so is an empty list
  do
    local p = pair()
    check("readuntil_separator", not pcall(p.reader.readuntil, p.reader, "")
      and not pcall(p.reader.readuntil, p.reader, {""}) and not pcall(p.reader.readuntil, p.reader, {}))
    p.close()
  end

  -- test_readuntil_multi_chunks, test_readuntil_multi_chunks_1: the
  -- separator found across pieces, what follows it kept
  do
    local p = pair()
    p.feed("lineAAA")
    local a = await p.reader:readuntil("AAA")
    p.feed("lineAAAxxx")
    local b = await p.reader:readuntil("AAA")
    local left = p.reader:buffered()
    await p.reader:read(left)
    local feeder = p.feed_later("QWEaa", "XYaa", "a")
    local c = await p.reader:readuntil("aaa")
    await feeder
    feeder = p.feed_later("XXX", "a", "a", "a")
    local d = await p.reader:readuntil("aaa")
    await feeder
    check("readuntil_multi_chunks", a == "lineAAA" and b == "lineAAA" and left == 3 and c == "QWEaaXYaaa"
      and d == "XXXaaa" and p.reader:buffered() == 0)
    p.close()
  end

  -- test_readuntil_eof: the end before the separator raises
  -- IncompleteReadError with what came (partial) and no expected size
  do
    local p = pair()
    p.feed("some dataAA")
    p.feed_eof()
    local e = err_of(p.reader:readuntil("AAA"))
    check("readuntil_eof", iserr(e, asyncio.IncompleteReadError) and e.partial == "some dataAA" and e.expected == nil
      and p.reader:buffered() == 0)
    p.close()
  end

  -- test_readuntil_limit_found_sep: over the limit, "not found" and then
  -- "found" raise LimitOverrunError with the data left in the buffer (a
  -- limit of 6 rather than CPython's 3, so that the stream's flow control,
  -- which a StreamReader fed by hand does not have, keeps reading)
  do
    local p = pair({limit = 6})
    p.feed("some dataAA")
    local e = err_of(p.reader:readuntil("AAA"))
    local left = p.reader:buffered()
    p.feed("A")
    local e2 = err_of(p.reader:readuntil("AAA"))
    check("readuntil_limit_found_sep", iserr(e, asyncio.LimitOverrunError) and tostring(e):find("not found")
      and e.consumed == 9 and left == 11 and iserr(e2, asyncio.LimitOverrunError) and tostring(e2):find("is found")
      and e2.consumed == 9 and p.reader:buffered() == 12)
    p.close()
  end

  -- test_readuntil_multi_separator: a list of separators; the match that
  -- ends first is taken, even a longer one
  do
    local p = pair()
    p.feed("line 1\nline 2\r")
    local a = await p.reader:readuntil({"\r", "\n"})
    local b = await p.reader:readuntil({"\r", "\n"})
    local left = p.reader:buffered()
    p.feed("ABCDEFG")
    local c = await p.reader:readuntil({"DEF", "BCDE"})
    check("readuntil_multi_separator", a == "line 1\n" and b == "line 2\r" and left == 0 and c == "ABCDE"
      and p.reader:buffered() == 2)
    p.close()
  end

  -- test_readuntil_multi_separator_limit: of matches that end together the
  -- shortest is the one the limit sees (a limit of 6 rather than 3, as
  -- above)
  do
    local p = pair({limit = 6})
    p.feed("some dataA")
    local e = err_of(p.reader:readuntil({"A", "ome dataA"}))
    check("readuntil_multi_separator_limit", iserr(e, asyncio.LimitOverrunError) and tostring(e):find("is found")
      and e.consumed == 9 and p.reader:buffered() == 10)
    p.close()
  end

  -- test_readuntil_multi_separator_negative_offset: fewer bytes than the
  -- longest separator, then the shortest arrives
  do
    local p = pair()
    p.feed("data")
    local feeder = p.feed_later("Z", "Aaaa")
    local data = await p.reader:readuntil({"A", "long sep"})
    await feeder
    check("readuntil_multi_separator_negative_offset", data == "dataZA" and p.reader:buffered() == 3)
    p.close()
  end
end

local function readexactlys()
  -- test_readexactly_zero_or_less: 0 bytes is "", a negative count refused
  do
    local p = pair()
    p.feed("data")
    check("readexactly_zero_or_less", await p.reader:readexactly(0) == "" and p.reader:buffered() == 4
      and not pcall(p.reader.readexactly, p.reader, -1))
    p.close()
  end

  -- test_readexactly: waits for all n bytes, leaves the rest
  do
    local p = pair()
    local feeder = p.feed_later("chunk1\n", "chunk1\n", "chunk1\n")
    local data = await p.reader:readexactly(14)
    await feeder
    check("readexactly", data == "chunk1\nchunk1\n" and p.reader:buffered() == 7)
    p.close()
  end

  -- test_readexactly_limit: the line limit does not apply
  do
    local p = pair({limit = 3})
    p.feed("chunk")
    check("readexactly_limit", await p.reader:readexactly(5) == "chunk")
    p.close()
  end

  -- test_readexactly_eof, test_IncompleteReadError: the end first raises
  -- with what came and the size asked for
  do
    local p = pair()
    p.feed("chunk")
    p.feed_eof()
    local e = err_of(p.reader:readexactly(14))
    check("readexactly_eof", iserr(e, asyncio.IncompleteReadError) and e.partial == "chunk" and e.expected == 14
      and tostring(e):find("5 bytes read on a total of 14 expected bytes", 1, true) and p.reader:buffered() == 0)
    p.close()
  end
end

local function connections()
  -- test_streamreader_constructor (limit <= 0 raises ValueError): a bad
  -- option is refused before anything is connected or started
  do
    local ok, e = pcall(function() return await asyncio.open_connection("127.0.0.1", 1, {limit = 0}) end)
    local ok2, e2 = pcall(function()
      return await asyncio.create_subprocess_exec("sh", "-c", "echo started", {stdout = asyncio.PIPE, limit = 0})
    end)
    check("bad limit refused first", not ok and tostring(e):find("bad option 'limit'", 1, true)
      and not ok2 and tostring(e2):find("bad option 'limit'", 1, true))
  end

  -- test_eof_feed_when_closing_writer: closing the writer ends the reader
  do
    local p = pair()
    p.writer:close()
    await p.writer:wait_closed()
    check("eof_feed_when_closing_writer", p.reader:at_eof())
    p.close()
  end

  -- test_async_iteration: the lines up to the end
  do
    local p = pair()
    p.feed("line1\nline2\nline3")
    p.feed_eof()
    local got = {}
    for line in p.reader:lines("L") do got[#got + 1] = line end
    check("async_iteration", table.concat(got, "|") == "line1\n|line2\n|line3")
    p.close()
  end
end

asyncio.run(async function()
  reads()
  readlines()
  readuntils()
  readexactlys()
  connections()
end)
