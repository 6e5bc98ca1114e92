-- writer:writelines reads each item of the list once, straight into the
-- text it writes, with TLS and without. It once checked the list, then read
-- it again to write it: a list whose __index answered differently the
-- second time lost that item (a table added to a Lua buffer adds nothing).
local _ <close> = require "clean_loop"
local make_certs = dofile("support/certs.lua")

-- A list of items that counts the reads of each; item 2 is a table from
-- its second read on.
local function proxy(items)
  local reads = {}
  local list = setmetatable({}, {
    __len = function() return #items end,
    __index = function(_, i)
      reads[i] = (reads[i] or 0) + 1
      if i == 2 and reads[i] > 1 then return {} end
      return items[i]
    end,
  })
  return list, reads
end

-- A server that answers each line with its length.
local function lengths(reader, writer)
  for line in reader:lines("L") do
    writer:write(#line .. "\n")
    await writer:drain()
  end
  writer:close()
end

asyncio.run(async function()
  local dir, remove_certs = await make_certs()
  for _, tls in ipairs{false, true} do
    local server = await asyncio.start_server(lengths, "127.0.0.1", 0,
      {tls = tls and {cert = dir .. "server.pem", key = dir .. "server.key"} or nil})
    local _, port = server.sockets[1]:getsockname()
    local r, w = await asyncio.open_connection("localhost", port, {tls = tls and {ca_file = dir .. "ca.pem"} or nil})
    local name = tls and "tls" or "plain"

    -- 9 KB: more than a Lua buffer's first block
    local list, reads = proxy{string.rep("a", 3000), string.rep("b", 3000), string.rep("c", 3000), "\n"}
    w:writelines(list)
    print(name, (await r:readline()):sub(1, -2), "reads: " .. table.concat(reads, " "))

    -- numbers are written as text; a bad item, even after 9 KB, writes nothing
    w:writelines({1, 2.5, "\n"})
    print(name, (await r:readline()):sub(1, -2))
    print(name, pcall(w.writelines, w, {string.rep("x", 9000), {}, "\n"}))
    w:write("\n")
    print(name, (await r:readline()):sub(1, -2))

    w:close()
    await w:wait_closed()
    server:close()
    await server:wait_closed()
  end
  remove_certs()
end)
