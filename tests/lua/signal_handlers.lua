-- loop:add_signal_handler / remove_signal_handler: the handler runs as a
-- callback of the loop, errors in it go to the exception handler, and the
-- thread's signal mask is restored when handlers are removed or the loop
-- closes. The test signals itself with kill(1).
local _ <close> = require "clean_loop"
local pid = io.open("/proc/self/stat"):read("n")

-- true when signum is blocked in the main thread (line SigBlk of
-- /proc/self/status, a hex mask where bit n-1 is signal n)
local function blocked(signum)
  local status = io.open("/proc/self/status"):read("a")
  local hex = status:match("SigBlk:%s*(%x+)")
  local nibble = tonumber(hex:sub(-1 - (signum - 1) // 4, -1 - (signum - 1) // 4), 16)
  return nibble & (1 << ((signum - 1) % 4)) ~= 0
end

local function kill(name)
  os.execute("kill -" .. name .. " " .. pid)
end

print("constants:", asyncio.SIGINT, asyncio.SIGTERM, asyncio.SIGUSR1, asyncio.SIGUSR2, asyncio.SIGCHLD ~= nil,
  asyncio.SIGHUP, asyncio.SIGWINCH ~= nil, asyncio.SIGQUIT, asyncio.SIGALRM, asyncio.SIGPIPE)
print("blocked before:", blocked(asyncio.SIGUSR1))

asyncio.run(async function()
  local loop = asyncio.get_running_loop()
  local got = asyncio.Future()
  loop:add_signal_handler(asyncio.SIGUSR1, function(a, b)
    print("USR1 handler", a, b, asyncio.current_task())
    if not got:done() then got:set_result("delivered") end
  end, "arg", 2)
  print("blocked while handled:", blocked(asyncio.SIGUSR1))
  kill("USR1")
  print(await got)

  -- a second delivery reaches the same handler
  got = asyncio.Future()
  kill("USR1")
  print(await got)

  -- replacing the handler
  local second = asyncio.Future()
  loop:add_signal_handler(asyncio.SIGUSR1, function() second:set_result("replaced") end)
  kill("USR1")
  print(await second)

  -- two signals, two handlers
  local usr2 = asyncio.Future()
  loop:add_signal_handler(asyncio.SIGUSR2, function() usr2:set_result("USR2") end)
  kill("USR2")
  print(await usr2)

  -- an error in a handler goes to the exception handler; the loop goes on
  local reported = asyncio.Future()
  loop:set_exception_handler(function(_, ctx)
    reported:set_result(ctx.message:match("^Exception in callback") ~= nil, ctx.exception, ctx.handle ~= nil)
  end)
  loop:add_signal_handler(asyncio.SIGUSR2, function() error("handler failed", 0) end)
  kill("USR2")
  print(await reported)
  loop:set_exception_handler(nil)

  print("removed:", loop:remove_signal_handler(asyncio.SIGUSR1), loop:remove_signal_handler(asyncio.SIGUSR1))
  print("blocked after removal:", blocked(asyncio.SIGUSR1), blocked(asyncio.SIGUSR2))

  -- misuse
  local function try(...) print(select(2, pcall(...))) end
  try(loop.add_signal_handler, loop, 9, print)
  try(loop.add_signal_handler, loop, 0, print)
  try(loop.add_signal_handler, loop, 100000, print)
  try(loop.add_signal_handler, loop, "USR1", print)
  try(loop.add_signal_handler, loop, asyncio.SIGUSR1)
  try(loop.add_signal_handler, loop, asyncio.SIGUSR1, async function() end)
  print(loop:remove_signal_handler(asyncio.SIGHUP))
end)
-- the loop closed with a USR2 handler still registered: the mask is back
print("blocked after close:", blocked(asyncio.SIGUSR1), blocked(asyncio.SIGUSR2))
