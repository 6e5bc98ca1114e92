-- A subprocess pipeline: `seq 1 200000 | grep 7 | wc -l`, with alua moving
-- the data between the processes, then the same through the shell, and
-- communicate() pushing 5 MB through `sort` and back.
-- Run it with:  build/alua scripts/examples/pipeline.lua

local PIPE = asyncio.PIPE

-- Copies everything from a reader to a writer, then closes the writer so
-- the next process sees the end of its input.
async function copy(reader, writer)
  while true do
    local chunk = await reader:read(65536)
    if chunk == "" then break end
    writer:write(chunk)
    await writer:drain()
  end
  writer:close()
end

async function main()
  local seq = await asyncio.create_subprocess_exec("seq", 1, 200000, {stdout = PIPE})
  local grep = await asyncio.create_subprocess_exec("grep", "7", {stdin = PIPE, stdout = PIPE})
  local wc = await asyncio.create_subprocess_exec("wc", "-l", {stdin = PIPE, stdout = PIPE})
  local count = await asyncio.gather(
    copy(seq.stdout, grep.stdin),
    copy(grep.stdout, wc.stdin),
    wc.stdout:read())
  print("numbers with a 7, piped by alua:", count[3]:match("%d+"))
  print("exit codes:", await seq:wait(), await grep:wait(), await wc:wait())

  local sh = await asyncio.create_subprocess_shell("seq 1 200000 | grep 7 | wc -l", {stdout = PIPE})
  local out = await sh:communicate()
  print("the same through /bin/sh:      ", out:match("%d+"))

  -- communicate writes stdin while it reads stdout: no deadlock, whatever the sizes
  local lines = {}
  for i = 1, 500000 do lines[i] = string.format("%09d", (i * 7919) % 1000003) end
  local sort = await asyncio.create_subprocess_exec("sort", {stdin = PIPE, stdout = PIPE})
  local sorted = await sort:communicate(table.concat(lines, "\n") .. "\n")
  print(string.format("sorted %d bytes; first %s, last %s", #sorted,
    sorted:match("^(%d+)"), sorted:match("(%d+)\n$")))
end

asyncio.run(main)
