-- The protocol names of the tls option alpn, from a list that makes each
-- name when asked (an __index): a name must stay alive until it is added.
-- The context once took each name off the stack before adding it, and the
-- first growth of its buffer could run the collector and free that name (a
-- use after free). The test runs under lua5.4, whose allocator is malloc,
-- so that the sanitizer build sees freed memory read.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"
local A, await = asyncio.async, asyncio.await

local made = 0
local names = setmetatable({}, {
  __len = function() return 40 end,
  __index = function(_, i)
    made = made + 1
    return string.rep(string.char(64 + i), 200)
  end,
})

local function try(tls)
  local ok, err = pcall(function()
    return await(asyncio.open_connection("127.0.0.1", 1, {tls = tls}))
  end)
  return ok, (tostring(err):gsub("^[^:]*:%d+: ", ""))
end

asyncio.run(A(function()
  -- each allocation runs a whole collection cycle, the buffer's too; the
  -- bad timeout, checked after alpn, keeps the context from being made
  collectgarbage("incremental", 1, 1000, 40)
  print(try({alpn = names, handshake_timeout = -1}))
  collectgarbage("incremental", 200, 100, 13)
  print(made)
  -- what a name may be
  for _, list in ipairs{{"h2", ""}, {string.rep("x", 256)}, {"h2", 12}, {"h2", {}}} do
    print(try({alpn = list}))
  end
end))
