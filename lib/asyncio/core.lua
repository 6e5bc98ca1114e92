-- await, run and the small compositions that read best in Lua. Receives the
-- module table and the C internals (see src/lua/runtime/runtime.c).
local M, I = ...

local getmetatable, type, select, error, pcall, rawget = getmetatable, type, select, error, pcall, rawget
-- await x is the C function internals.await (src/lua/task/await.c): the
-- hottest path of the library. A coroutine object runs inline in the
-- awaiting task; futures, tasks, sleeps and the operations of queues,
-- locks, events and I/O wait in C; a value whose metatable has __await comes
-- back here, to await_via.
local await = I.await
-- debug.getmetatable skips the __metatable lookup that getmetatable makes
local getmt = debug and debug.getmetatable or getmetatable

-- x's __await metamethod aw gave what x stands for: awaits that instead.
-- An __await that is not callable, or that gives back x itself (or, after
-- a hundred steps, never anything but more __await objects), is an error
-- instead of a crash or a loop that never ends.
local function await_via(x, aw, depth)
  if type(aw) ~= "function" and not (getmt(aw) and getmt(aw).__call) then
    error(I.where() .. "bad argument #1 to 'await' (its __await metamethod must be a function, got " .. type(aw) .. ")", 0)
  end
  local r = aw(x)
  if r == x then error(I.where() .. "bad argument #1 to 'await' (its __await metamethod returned the object itself)", 0) end
  local mt = getmt(r)
  local aw2 = type(mt) == "table" and rawget(mt, "__asyncio") == nil and rawget(mt, "__await") or nil
  if aw2 == nil then return await(r) end
  if depth >= 100 then error(I.where() .. "bad argument #1 to 'await' (__await metamethods nested too deep)", 0) end
  return await_via(r, aw2, depth + 1)
end
I.await_via = await_via
M.await = await

-- internals.wrap(aw): a coroutine object that awaits aw (to make a task of
-- any awaitable).
local wrapper = M.async(function(aw) return await(aw) end, "await")
function I.wrap(aw) return wrapper(aw) end

local function pack(...) return {n = select("#", ...), ...} end

-- Runners (asyncio.Runner, and asyncio.run, which is one run of a runner
-- closed at once, as in CPython). A runner makes its loop at its first run
-- (or get_loop), installs it as the default loop, and runs each main as a
-- task of it until that task is done; close() cancels and awaits what is
-- left, runs what that queued, closes the loop and puts the previous
-- default loop back.
local CREATED, OPEN, CLOSED = "created", "initialized", "closed"
local Runner = {__name = "asyncio.Runner"}
Runner.__index = Runner

local run_options = {debug = true, virtual_time = true}

-- The runners whose loop is open, for close to splice itself out of the
-- chain of default loops they replaced.
local open_runners = setmetatable({}, {__mode = "k"})

local function new_runner(debug, vt)
  return setmetatable({_debug = debug, _vt = vt, _state = CREATED}, Runner)
end

local function check_runner(self, fname)
  if getmetatable(self) ~= Runner then
    error(I.where() .. "bad argument #1 to '" .. fname .. "' (asyncio.Runner expected, got " .. type(self) .. ")", 0)
  end
end

-- The runner's loop, made and installed as the default loop the first time.
local function runner_loop(self)
  if self._state == OPEN then return self._loop end
  local loop = M.new_event_loop(self._vt ~= nil and {virtual_time = self._vt} or nil)
  if self._debug ~= nil then loop:set_debug(self._debug) end
  self._previous = I.swap_default_loop(loop)
  self._loop, self._state = loop, OPEN
  open_runners[self] = true
  return loop
end

-- How main runs as the main task: "coro" (a coroutine object, or one of
-- asyncio's own awaitables: a sleep, an operation), "async" (an async
-- function: called with the arguments for its coroutine object),
-- "function" (called with the arguments inside the task), "await" (a
-- future, a task or an __await object: awaited by the task); nil when it
-- is none of these.
local function main_kind(main)
  if M.iscoroutine(main) or I.own_awaitable(main) then return "coro" end
  if M.iscoroutinefunction(main) then return "async" end
  if type(main) == "function" then return "function" end
  if I.isawaitable(main) then return "await" end
end

local function bad_main(fname, main)
  return "bad argument #1 to '" .. fname .. "' (coroutine object or function expected, got " .. type(main) .. ")"
end

-- Runs main (of the kind main_kind said, "async" already called) with the
-- arguments in args as the main task of the runner's loop, named name if
-- given; returns its results. Ctrl+C cancels it and raises KeyboardInterrupt
-- (loop:run_until_complete does). Its error is raised again from here, so
-- that it reads as if run raised it (no position of the library's own
-- frames). self stays referenced while the loop runs: a runner collected
-- then could not close its loop.
local function run_main(self, main, kind, args, name)
  local loop = runner_loop(self)
  local task
  if kind == "function" then
    task = loop:create_task(main, table.unpack(args, 1, args.n))
  else
    task = loop:create_task(kind == "await" and I.wrap(main) or main, {name = name})
  end
  local results = pack(pcall(loop.run_until_complete, loop, task))
  if not results[1] then error(results[2], 0) end
  return table.unpack(results, 2, results.n)
end

-- internals.run_named(runner, coro, name): runner:run(coro), its main task
-- named name (asyncio.timeline's 'main').
function I.run_named(runner, coro, name) return run_main(runner, coro, "coro", nil, name) end

-- asyncio.Runner([{debug =, virtual_time =}]): a runner, meant for a
-- <close> variable.
function M.Runner(opts)
  opts = I.check_options(opts, 1, "Runner", I.options.run)
  local vt = opts.virtual_time
  if vt ~= nil and type(vt) ~= "boolean" then
    error("bad option 'virtual_time' to 'Runner' (boolean expected, got " .. type(vt) .. ")", 2)
  end
  return new_runner(opts.debug, vt)
end

-- runner:run(main, ...): runs main as asyncio.run would, in the runner's
-- loop, which every run shares.
function Runner:run(main, ...)
  check_runner(self, "run")
  if I.running_loop() then error("Runner.run() cannot be called from a running event loop", 2) end
  if self._state == CLOSED then error("Runner is closed", 2) end
  local args = pack(...)
  local kind = main_kind(main)
  if kind == nil then error(bad_main("run", main), 2) end
  if (kind == "coro" or kind == "await") and args.n > 0 then
    error(I.where() .. "bad argument #2 to 'run' (no arguments expected after a coroutine object)", 0)
  end
  if kind == "async" then main, kind = main(...), "coro" end
  return run_main(self, main, kind, args)
end

-- runner:get_loop(): the runner's loop, made now if no run has made it.
function Runner:get_loop()
  check_runner(self, "get_loop")
  if self._state == CLOSED then error("Runner is closed", 2) end
  return runner_loop(self)
end

-- runner:close(): what the end of asyncio.run does. The leftover tasks are
-- cancelled and awaited (their errors go to the exception handler), what
-- they queued as they ended (their done callbacks: a server closing their
-- connections) runs, the loop closes and the previous default loop is put
-- back. Idempotent; a runner that never made its loop, or whose loop was
-- closed by other means, just closes.
function Runner:close()
  check_runner(self, "close")
  if self._state ~= OPEN then
    self._state = CLOSED
    return
  end
  if I.running_loop() then error("Runner.close() cannot be called from a running event loop", 2) end
  self._state = CLOSED
  open_runners[self] = nil
  local loop = self._loop
  self._loop = nil
  if not loop:is_closed() then -- (unless someone closed it already)
    -- Ctrl+C is counted across the shutdown (and, in asyncio.run, the main
    -- task before it)
    local _ <close> = I.sigint_scope()
    local leftover = M.all_tasks(loop)
    if #leftover > 0 then
      for i = 1, #leftover do leftover[i]:cancel() end
      loop:run_until_complete(M.gather(leftover, {return_exceptions = true}))
      for i = 1, #leftover do
        local t = leftover[i]
        if not t:cancelled() and t:exception() ~= nil then
          loop:call_exception_handler({
            message = "unhandled error during asyncio.run() shutdown",
            exception = t:exception(),
            task = t,
          })
        end
      end
    end
    I.run_due(loop)
    loop:close()
  end
  -- the previous default loop comes back; if another one was installed
  -- since, it stays, and the runner that installed it will put back ours
  local current = I.swap_default_loop(self._previous)
  if current ~= loop then
    I.swap_default_loop(current)
    for r in next, open_runners do
      if r._previous == loop then r._previous = self._previous end
    end
  end
  self._previous = nil
end

Runner.__close = Runner.close

-- A runner collected open closes as close() would; not while a loop runs
-- (its own cannot run then: the program's end finishes it), nor once its
-- loop was closed some other way (the Lua state closing).
function Runner:__gc()
  if self._state == OPEN and not self._loop:is_closed() and not I.running_loop() then
    self:close()
  end
  self._state = CLOSED
end

function Runner:__tostring()
  return "<Runner " .. self._state .. ">"
end

-- asyncio.run(main, ...): runs main in a new loop, then cancels and waits for
-- leftover tasks and closes the loop; returns main's results. After a
-- coroutine object, a trailing plain table is the option table (debug,
-- virtual_time); after a function, one whose keys are all option names is
-- (anything else is an argument of the function). As in CPython, it is a
-- runner's one run: the two share the code above.
local function is_run_options(t)
  if type(t) ~= "table" or getmetatable(t) ~= nil or next(t) == nil then return false end
  for k in next, t do
    if not run_options[k] then return false end
  end
  return true
end

function M.run(main, ...)
  local args = pack(...)
  local last = args[args.n]
  local opts
  local kind = main_kind(main)
  -- a sleep or an operation (q:get()) runs as a coroutine object does, as
  -- asyncio's own coroutines do in asyncio.run; so do futures and __await
  -- objects, as any awaitable does in CPython's
  local coro = kind == "coro" or kind == "await"
  if args.n > 0 and (is_run_options(last) or (coro and type(last) == "table" and getmetatable(last) == nil)) then
    opts = I.check_options(last, args.n + 1, "run", I.options.run)
    args.n = args.n - 1
  end
  if coro and args.n > 0 then
    error(I.where() .. "bad argument #2 to 'run' (no arguments expected after a coroutine object)", 0)
  end
  local vt = opts and opts.virtual_time
  if vt ~= nil and type(vt) ~= "boolean" then
    error("bad option 'virtual_time' to 'run' (boolean expected, got " .. type(vt) .. ")", 2)
  end
  local function args_() return table.unpack(args, 1, args.n) end
  if I.running_loop() then
    if I.in_host_step() then
      -- the host owns the loop (the prompt, an embedding program): this
      -- runs in one of its tasks already; await main in it
      if M.iscoroutinefunction(main) then return await(main(args_())) end
      if type(main) == "function" then return await(M.create_task(main, args_())) end
      return await(main)
    end
    error("asyncio.run() cannot be called from a running event loop", 2)
  end
  if kind == nil then error(bad_main("run", main), 2) end
  if kind == "async" then main, kind = main(args_()), "coro" end
  -- Ctrl+C is counted across the main task and the shutdown after it
  local _ <close> = I.sigint_scope()
  local runner <close> = new_runner(opts and opts.debug, vt)
  return run_main(runner, main, kind, args)
end
