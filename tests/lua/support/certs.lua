-- The test certificates: runs tests/certs/make-certs into a new temporary
-- directory. Returns the directory (with a trailing "/") and a function
-- that removes it.
local names = {"ca.key", "ca.pem", "server.key", "server.pem", "expired.key", "expired.pem", "wronghost.key",
               "wronghost.pem", "selfsigned.key", "selfsigned.pem", "client.key", "client.pem"}

return async function()
  local dir = os.tmpname()
  os.remove(dir)
  local proc = await asyncio.create_subprocess_exec("../certs/make-certs", dir)
  assert(await proc:wait() == 0, "make-certs failed")
  local function remove()
    for _, name in ipairs(names) do os.remove(dir .. "/" .. name) end
    os.remove(dir)
  end
  return dir .. "/", remove
end
