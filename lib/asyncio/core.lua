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

-- asyncio.run(main, ...): runs main in a new loop, then cancels and waits for
-- leftover tasks and closes the loop; returns main's results. After a
-- coroutine object, a trailing plain table is the option table (debug,
-- virtual_time); after a function, one whose keys are all option names is
-- (anything else is an argument of the function).
local run_options = {debug = true, virtual_time = true}
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
  -- a sleep or an operation (q:get()) runs as a coroutine object does, as
  -- asyncio's own coroutines do in asyncio.run
  local coro = M.iscoroutine(main) or I.own_awaitable(main)
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
  if M.iscoroutinefunction(main) then
    main = main(args_())
    coro = true
  elseif not coro and type(main) ~= "function" then
    error("bad argument #1 to 'run' (coroutine object or function expected, got " .. type(main) .. ")", 2)
  end
  -- Ctrl+C is counted across the main task and the shutdown after it
  local _ <close> = I.sigint_scope()
  local loop = M.new_event_loop(vt ~= nil and {virtual_time = vt} or nil)
  if opts and opts.debug ~= nil then loop:set_debug(opts.debug) end
  local previous = I.swap_default_loop(loop)
  local main_task
  if coro then
    main_task = loop:create_task(main)
  else
    main_task = M.create_task(main, args_()) -- a plain function, called with the arguments
  end
  local results = pack(pcall(loop.run_until_complete, loop, main_task))
  -- shutdown: cancel what is left and let it finish
  local leftover = M.all_tasks(loop)
  if #leftover > 0 then
    for i = 1, #leftover do leftover[i]:cancel() end
    leftover[#leftover + 1] = {return_exceptions = true}
    loop:run_until_complete(M.gather(table.unpack(leftover)))
    for i = 1, #leftover - 1 do
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
  -- what the last passes queued as tasks ended (their done callbacks) runs
  -- before the loop closes
  I.run_due(loop)
  loop:close()
  I.swap_default_loop(previous)
  -- run_until_complete raised KeyboardInterrupt if Ctrl+C cancelled main
  if not results[1] then error(results[2], 0) end
  return table.unpack(results, 2, results.n)
end
