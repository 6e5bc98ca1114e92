-- Out-of-memory sweep: worker threads (to_thread, run_in_executor, async
-- files) and subprocesses with pipes.
-- run-oom gives each run a directory of its own: a run that fails half
-- way leaves nothing behind
local path = os.getenv("ALUA_OOM_TMPDIR") .. "/file"

asyncio.run(async function()
  local loop = asyncio.get_running_loop()
  print("to_thread", await asyncio.to_thread(function(a, b) return a + b, #{a, b} end, 1, 2))
  print("executor", await loop:run_in_executor(nil, function(s) return s:upper() end, "abc"))

  local f = await asyncio.open(path, "w")
  await f:write("line 1\nline 2\n")
  await f:close()
  f = await asyncio.open(path)
  print("file", await f:read("l"), await f:read("a"))
  await f:close()

  local p = await asyncio.create_subprocess_exec("cat", {stdin = asyncio.PIPE, stdout = asyncio.PIPE})
  local out = await p:communicate("through cat")
  print("cat", out, p.returncode)
  p = await asyncio.create_subprocess_shell("exit 3")
  print("exit", await p:wait())
end)
os.remove(path)
