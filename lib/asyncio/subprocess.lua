-- Subprocesses (SPEC 2.9): asyncio.create_subprocess_exec / _shell and the
-- Process object. Spawning and reaping are C (src/lua/io/process.c over
-- src/core/spawn.c); the pipes are ordinary streams (src/lua/io/stream.c).
-- Receives the module table and the C internals.
local M, I = ...

local async, await, iserror = M.async, M.await, M.iserror
local type, error, pcall, select, setmetatable, getmetatable = type, error, pcall, select, setmetatable, getmetatable
local format = string.format

local spawn, stream_from_fd, where = I.spawn, I.stream_from_fd, I.where

local Process = {__name = "asyncio.Process"}

-- process.returncode reads the child's state: nil while it runs.
function Process.__index(self, k)
  if k == "returncode" then return self._child:returncode() end
  return Process[k]
end

function Process:__tostring()
  local rc = self._child:returncode()
  if rc == nil then return format("<Process %d>", self.pid) end
  return format("<Process %d returncode=%d>", self.pid, rc)
end

-- process:wait(): an awaitable of the return code (negative: killed by
-- that signal).
function Process:wait() return self._child:wait() end

-- process:send_signal(sig): false if the process was already reaped.
function Process:send_signal(sig) return self._child:send_signal(sig) end
function Process:terminate() return self._child:send_signal(M.SIGTERM) end
function Process:kill() return self._child:send_signal(M.SIGKILL) end

-- Awaits aw; errors of a pipe whose other end is gone are dropped (the
-- child exited without reading all its input), everything else raises.
local function ignore_broken_pipe(aw)
  local ok, err = pcall(await, aw)
  if ok or iserror(err, M.BrokenPipeError) or iserror(err, M.ConnectionResetError) then return end
  error(err, 0)
end

local feed = async(function(stdin, input)
  if input ~= nil then
    stdin:write(input)
    ignore_broken_pipe(stdin:drain())
  end
  stdin:close()
  ignore_broken_pipe(stdin:wait_closed())
end, "feed_stdin")

local collect = async(function(reader) return await(reader:read(-1)) end, "collect")

-- process:communicate([input]): writes input to stdin (then closes it)
-- while reading stdout and stderr to their ends, so no pipe ever fills up;
-- then waits for the process. Returns stdout, stderr (nil for a stream
-- that is not a PIPE).
Process.communicate = async(function(self, input)
  if getmetatable(self) ~= Process then error(where() .. "calling 'communicate' on bad self", 0) end
  if input ~= nil and type(input) ~= "string" then
    error(where() .. "bad argument #1 to 'communicate' (string expected, got " .. type(input) .. ")", 0)
  end
  if input ~= nil and not self.stdin then error(where() .. "communicate: input given, but stdin is not asyncio.PIPE", 0) end
  local jobs, slots = {}, {}
  if self.stdin then jobs[#jobs + 1] = feed(self.stdin, input) end
  if self.stdout then
    jobs[#jobs + 1] = collect(self.stdout)
    slots.out = #jobs
  end
  if self.stderr then
    jobs[#jobs + 1] = collect(self.stderr)
    slots.err = #jobs
  end
  local results = #jobs > 0 and await(M.gather(table.unpack(jobs))) or {}
  await(self._child:wait())
  return results[slots.out], results[slots.err]
end, "communicate")

-- Splits (..., opts): the option table is a trailing plain table.
local function split_opts(...)
  local n = select("#", ...)
  if n == 0 then return 0, nil end
  local last = select(n, ...)
  if n > 0 and type(last) == "table" and getmetatable(last) == nil then return n - 1, last end
  return n, nil
end

local function start(argv, opts, fname, argn)
  opts = I.check_options(opts, argn, fname, I.options.create_subprocess)
  I.check_stream_opts(opts, fname) -- before the child starts
  local ok, child, fin, fout, ferr = pcall(spawn, argv, opts)
  if not ok then
    if type(child) == "string" then child = child:gsub("create_subprocess_exec", fname, 1) end
    error(fname == "create_subprocess_exec" and child or I.rename_error(child, fname), 0)
  end
  local p = setmetatable({pid = child:pid(), _child = child}, Process)
  if fin then p.stdin = stream_from_fd(fin, "w", opts) end
  if fout then p.stdout = stream_from_fd(fout, "r", opts) end
  if ferr then p.stderr = stream_from_fd(ferr, "r", opts) end
  return p
end

-- asyncio.create_subprocess_exec(program, arg, ... [, opts]): a Process.
-- opts: stdin, stdout, stderr (asyncio.PIPE, DEVNULL, STDOUT for stderr,
-- a descriptor, a Lua file or anything with fileno(); default: inherited),
-- cwd, env (a table replacing the environment), executable,
-- start_new_session, limit (of the stdout/stderr readers).
M.create_subprocess_exec = async(function(program, ...)
  if type(program) ~= "string" then
    error(where() .. "bad argument #1 to 'create_subprocess_exec' (program name expected, got " .. type(program) .. ")", 0)
  end
  local n, opts = split_opts(...)
  local argv = {program}
  for i = 1, n do
    local a = select(i, ...)
    if type(a) ~= "string" and type(a) ~= "number" then
      error(where() .. format("bad argument #%d to 'create_subprocess_exec' (string expected, got %s)", i + 1, type(a)), 0)
    end
    argv[i + 1] = tostring(a)
  end
  return start(argv, opts, "create_subprocess_exec", n + 2)
end, "create_subprocess_exec")

-- asyncio.create_subprocess_shell(cmd [, opts]): cmd run by /bin/sh -c.
M.create_subprocess_shell = async(function(cmd, opts)
  if type(cmd) ~= "string" then
    error(where() .. "bad argument #1 to 'create_subprocess_shell' (command string expected, got " .. type(cmd) .. ")", 0)
  end
  return start({"/bin/sh", "-c", cmd}, opts, "create_subprocess_shell", 2)
end, "create_subprocess_shell")
