-- Files on the worker pool: a copy through async files, read formats,
-- lines, seek, append, errors.
local _ <close> = require "clean_loop"
local src = os.tmpname()
local dst = os.tmpname()
local f = io.open(src, "wb")
local expect = {}
for i = 1, 100000 do expect[i] = "line " .. i end
f:write(table.concat(expect, "\n"), "\n")
f:close()

asyncio.run(async function()
  -- copy in chunks
  local input <close> = await asyncio.open(src, "rb")
  local output <close> = await asyncio.open(dst, "wb")
  print((tostring(input):gsub("lua_%w+", "TMP")))
  local chunks = 0
  while true do
    local chunk = await input:read(100000)
    if not chunk then break end
    await output:write(chunk)
    chunks = chunks + 1
  end
  await output:close()
  await input:close()
  print("chunks", chunks)
  local a, b = io.open(src):read("a"), io.open(dst):read("a")
  print(#a == #b, a == b)

  -- lines, and the read formats
  local g = await asyncio.open(dst)
  local n, same = 0, true
  for line in g:lines() do
    n = n + 1
    if line ~= expect[n] then same = false end
  end
  print("lines", n, same)
  print(await g:seek("set", 0))
  print(await g:read("l", "L", 3, "n" == "n" and 2))
  print(await g:seek())
  print(#(await g:read("a")), await g:read("a"), await g:read("l"), await g:read(5))
  print(await g:seek("end", -8), await g:read("L"))
  await g:close()
  print(tostring(g))

  -- read-write: reading ahead does not move where writes go
  local h = await asyncio.open(dst, "r+")
  print(await h:read("l"))
  await h:write("LINE")
  await h:seek("set", 0)
  print(await h:read("l"), await h:read("l"))
  await h:close()

  -- append
  local ap = await asyncio.open(dst, "a")
  await ap:write("") -- nothing to copy (the sanitizer build checks how)
  await (await ap:write("tail", 1, 2, "\n")):write("end\n")
  await ap:close()
  local tail = io.open(dst):read("a"):sub(-12)
  print((tail:gsub("\n", "|")))

  -- errors
  print(pcall(function() return await asyncio.open("/no/such/file") end))
  print(pcall(function() return await asyncio.open(src, "q") end))
  print(pcall(function() return await asyncio.open("/") end))
  print(pcall(function() return await g:read() end))
  local ro = await asyncio.open(src)
  print(pcall(function() return await ro:write("x") end))
  print(pcall(function() return await ro:read("x") end))
  await ro:close()
  print(await ro:close())
end)
os.remove(src)
os.remove(dst)
