-- Subprocesses: 10 MB through cat with communicate, pipelines, exit codes,
-- signals, the stdio options, cwd and env, errors.
local _ <close> = require "clean_loop"
asyncio.run(async function()
  -- 10 MB in and out of cat: stdin is written while stdout is read
  local data = string.rep("0123456789abcdef", 10 * 1024 * 1024 / 16)
  local cat = await asyncio.create_subprocess_exec("cat", {stdin = asyncio.PIPE, stdout = asyncio.PIPE})
  print(math.type(cat.pid), cat.returncode, tostring(cat) == "<Process " .. cat.pid .. ">")
  local out, err = await cat:communicate(data)
  print(#out, out == data, err, cat.returncode)

  -- both pipes at once, large on both: sh copies stdin to stdout and stderr
  local sh = await asyncio.create_subprocess_shell("tee /dev/stderr", {
    stdin = asyncio.PIPE, stdout = asyncio.PIPE, stderr = asyncio.PIPE})
  out, err = await sh:communicate(string.rep("x", 3 * 1024 * 1024))
  print(#out, #err, sh.returncode)

  -- a pipeline: the first process's stdout feeds the second's stdin
  local seq = await asyncio.create_subprocess_exec("seq", 1, 100000, {stdout = asyncio.PIPE})
  local wc = await asyncio.create_subprocess_exec("wc", "-l", {stdin = asyncio.PIPE, stdout = asyncio.PIPE})
  local pump = asyncio.create_task(async function()
    while true do
      local chunk = await seq.stdout:read(4096)
      if chunk == "" then break end
      wc.stdin:write(chunk)
      await wc.stdin:drain()
    end
    wc.stdin:close()
  end)
  print("lines:", (await wc.stdout:read()):match("%d+"), await seq:wait(), await wc:wait())
  await pump

  -- exit codes and signals
  local p = await asyncio.create_subprocess_shell("exit 7")
  print("exit", await p:wait(), p.returncode, await p:wait())
  p = await asyncio.create_subprocess_exec("sleep", "30")
  print(p:terminate(), await p:wait())
  p = await asyncio.create_subprocess_exec("sleep", "30")
  print(p:kill(), await p:wait(), p:send_signal(asyncio.SIGTERM))
  p = await asyncio.create_subprocess_exec("sleep", "30")
  p:send_signal(asyncio.SIGUSR1)
  print(await p:wait() == -asyncio.SIGUSR1)

  -- stderr into stdout, DEVNULL, cwd, env, a Lua file as stdout
  p = await asyncio.create_subprocess_shell("echo out; echo err 1>&2", {stdout = asyncio.PIPE, stderr = asyncio.STDOUT})
  print(((await p:communicate()):gsub("\n", " ")))
  p = await asyncio.create_subprocess_shell("echo hidden; cat", {stdin = asyncio.DEVNULL, stdout = asyncio.DEVNULL})
  print(await p:communicate())
  p = await asyncio.create_subprocess_exec("pwd", {cwd = "/", stdout = asyncio.PIPE})
  print(await p.stdout:read(), await p:wait())
  p = await asyncio.create_subprocess_shell("echo $ALUA_X-$HOME", {env = {ALUA_X = "42"}, stdout = asyncio.PIPE})
  print((await p:communicate()))
  local tmp = os.tmpname()
  local f = io.open(tmp, "w")
  f:write("first\n")
  p = await asyncio.create_subprocess_exec("echo", "from child", {stdout = f})
  await p:wait()
  f:close()
  f = io.open(tmp)
  print((f:read("a"):gsub("\n", "|")))
  f:close()
  os.remove(tmp)

  -- a child that does not read its input: communicate does not fail
  p = await asyncio.create_subprocess_exec("true", {stdin = asyncio.PIPE})
  print(await p:communicate(string.rep("z", 1000000)))
  print(p.returncode)

  -- reading a child's output line by line
  p = await asyncio.create_subprocess_exec("printf", "a\\nb\\nc\\n", {stdout = asyncio.PIPE})
  local got = {}
  for line in p.stdout:lines() do got[#got + 1] = line end
  print(table.concat(got, ","), await p:wait())

  -- errors
  print(pcall(function() return await asyncio.create_subprocess_exec("no-such-program-alua") end))
  print(pcall(function() return await asyncio.create_subprocess_exec("ls", {cwd = "/no/such/dir"}) end))
  print(pcall(function() return await asyncio.create_subprocess_exec("ls", {stdout = "x"}) end))
  print(pcall(function() return await asyncio.create_subprocess_exec("ls", {stdin = asyncio.STDOUT}) end))
  p = await asyncio.create_subprocess_exec("true")
  print(pcall(function() return await p:communicate("input") end))
  await p:wait()

  -- the SIGCHLD fallback for kernels without pidfd_open
  debug.getregistry()["alua.internals"].force_sigchld(true)
  local ps = {}
  for i = 1, 5 do ps[i] = await asyncio.create_subprocess_shell("exit " .. i) end
  local codes = {}
  for i = 1, 5 do codes[i] = await ps[i]:wait() end
  print("fallback:", table.concat(codes, " "))
  p = await asyncio.create_subprocess_exec("cat", {stdin = asyncio.PIPE, stdout = asyncio.PIPE})
  print(#(await p:communicate(data)), p.returncode)
  debug.getregistry()["alua.internals"].force_sigchld(false)
end)
