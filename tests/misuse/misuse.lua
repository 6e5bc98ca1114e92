-- Misuse of the whole API (SPEC 7: bad input gets a clear error, never a
-- crash): every function of the module and every method of each kind of
-- object, the metamethods its __index reaches included, called with random
-- arguments (wrong types, NaN, huge and negative numbers, other objects),
-- and with a random `self` one call in four. A result that may be
-- awaitable is awaited for at most 20 ms. What each call returns or raises does not
-- matter here; a crash, a sanitizer report, a hang or the program not
-- ending cleanly does. The seed also picks the mode: every fourth seed runs
-- the loop in debug mode, the one after it on virtual time, and the next is
-- hostile (below). Run by
-- run-misuse (one seed per run):
--   alua misuse.lua SEED CALLS     (MISUSE_VERBOSE=1 names each call)
local seed = math.tointeger(tonumber(arg[1])) or os.time()
local iters = math.tointeger(tonumber(arg[2])) or 2000
local verbose = os.getenv("MISUSE_VERBOSE")
math.randomseed(seed)
-- Hostile seeds also run Lua code where C code does not expect any: the
-- finalizers of garbage made between calls, and metamethods of some
-- argument values (__index, __tostring, __eq, __len, __close, __call), each make a
-- random call of their own (closing objects too), wherever the collector
-- or the C code happens to run them.
local hostile = seed % 4 == 2 or os.getenv("MISUSE_HOSTILE") ~= nil
local hostile_call

local other_loop = asyncio.new_event_loop()
local values
local function V()
  return values[math.random(#values)]
end

local function mkvalues()
  values = {
    false, true, 0, -1, 1, 2, 1.5, 0.001, 2 ^ 53, math.maxinteger, math.mininteger, 0 / 0, math.huge, -math.huge,
    "", "x", "127.0.0.1", "localhost", "r", "w", "rb", "\0", ("a"):rep(70000),
    {}, {1, 2, 3}, {"a", "b"}, {x = 1}, {host = "127.0.0.1", port = 0}, {limit = -1}, {tls = true}, {name = 1},
    setmetatable({}, {__index = function() error("index trap") end}),
    setmetatable({}, {__call = function() return 1 end}),
    function() end, function() error("boom") end, function() coroutine.yield() end,
    async function() await asyncio.sleep(0) end,
    coroutine.create(function() end), io.stdout,
    asyncio.Event(), asyncio.Future(), asyncio.Lock(), asyncio.Queue(), other_loop,
    asyncio.sleep(0), asyncio.CancelledError, asyncio.OSError,
  }
  if hostile then
    local function h(...) hostile_call() end
    values[#values + 1] = setmetatable({}, {__index = function() hostile_call() end})
    values[#values + 1] = setmetatable({}, {__tostring = function() hostile_call() return "hostile" end})
    values[#values + 1] = setmetatable({}, {__eq = function() hostile_call() return false end, __len = function()
      hostile_call() return 1 end, __close = h, __call = h})
    values[#values + 1] = {tls = values[#values], name = values[#values - 1], limit = values[#values - 2]}
  end
end

-- left out: what would stop the fuzzing itself (the running loop's own
-- end, os.exit, a blocking await of anything), what changes the whole
-- process (loaders, the default loop) and what floods the output or the
-- folder (print_ps, timeline files)
local skip = {run = true, stop = true, close = true, run_forever = true, run_until_complete = true,
  install_loaders = true, await = true, set_event_loop = true, exit = true, print_ps = true, timeline = true}

local targets = {}
local function add_fns(prefix, t)
  for k, v in pairs(t) do
    if type(v) == "function" and not skip[k] then targets[#targets + 1] = {prefix .. k, v, nil} end
  end
end
add_fns("asyncio.", asyncio)
add_fns("asyncio.http.", asyncio.http)
add_fns("asyncio.trace.", asyncio.trace)

local function add_methods(name, obj)
  local mt = getmetatable(obj)
  if type(mt) ~= "table" then return end
  -- the methods: __index, or the metatable itself when __index is a
  -- function (a class with properties: process.returncode, server.sockets)
  local idx = type(mt.__index) == "table" and mt.__index or mt
  local seen, named = {}, {}
  local t = idx
  while t and not seen[t] do
    seen[t] = true
    for k, v in pairs(t) do
      if type(v) == "function" and not skip[k] and type(k) == "string" and not named[k] then
        named[k] = true
        targets[#targets + 1] = {name .. ":" .. k, v, obj}
      end
    end
    local m = getmetatable(t)
    t = m and type(m.__index) == "table" and m.__index or nil
  end
end

-- Awaits r for at most 20 ms when it may be awaitable (wait_for raises
-- for what is not): futures, coroutine objects, operations, sleeps.
local function result_await(r)
  if type(r) == "userdata" or type(r) == "table" then
    pcall(function() return await asyncio.wait_for(r, 0.02) end)
  end
end

asyncio.run(async function()
  local loop = asyncio.get_running_loop()
  mkvalues()
  loop:set_exception_handler(function() end)
  -- instances to call methods on
  add_methods("loop", loop)
  add_methods("future", asyncio.Future())
  add_methods("task", asyncio.create_task(async function() await asyncio.sleep(100) end))
  add_methods("queue", asyncio.Queue(3))
  add_methods("pqueue", asyncio.PriorityQueue())
  add_methods("lock", asyncio.Lock())
  add_methods("event", asyncio.Event())
  add_methods("cond", asyncio.Condition())
  add_methods("sem", asyncio.Semaphore(2))
  add_methods("barrier", asyncio.Barrier(2))
  add_methods("tg", asyncio.TaskGroup())
  add_methods("timeout", asyncio.timeout(10))
  add_methods("handle", loop:call_later(100, function() end))
  local server = await asyncio.start_server(function(r, w) w:close() end, "127.0.0.1", 0)
  add_methods("server", server)
  local _, port = server.sockets[1]:getsockname()
  add_methods("ssock", server.sockets[1])
  local r, w = await asyncio.open_connection("127.0.0.1", port)
  add_methods("reader", r)
  add_methods("writer", w)
  local ep = await asyncio.open_udp{local_host = "127.0.0.1", local_port = 0}
  add_methods("udp", ep)
  local f = await asyncio.open("fzfile", "w+")
  add_methods("file", f)
  local p = await asyncio.create_subprocess_exec("cat", {stdin = asyncio.PIPE, stdout = asyncio.PIPE})
  add_methods("proc", p)
  add_methods("fh", f._h)
  add_methods("child", p._child)
  local client = asyncio.http.Client()
  add_methods("multi", client._multi)
  add_methods("http", client)
  local sock = asyncio.socket("inet", "stream")
  add_methods("sock", sock)
  -- an HTTP response, with its transfer; a TLS connection when run-misuse
  -- made the test certificates
  local web = await asyncio.start_server(async function(reader, writer)
    for _ in reader:lines() do
      repeat local line = await reader:readline() until line == "\r\n" or line == ""
      writer:write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    end
    writer:close()
  end, "127.0.0.1", 0)
  local _, wport = web.sockets[1]:getsockname()
  local resp = await client:get(("http://127.0.0.1:%d/"):format(wport))
  add_methods("response", resp)
  add_methods("transfer", resp._tr)
  local certs = os.getenv("MISUSE_CERTS")
  if certs then
    local tls_server = await asyncio.start_server(function(_, writer) writer:close() end, "127.0.0.1", 0,
      {tls = {cert = certs .. "/server.pem", key = certs .. "/server.key"}})
    local _, tport = tls_server.sockets[1]:getsockname()
    local tr, tw = await asyncio.open_connection("localhost", tport, {tls = {ca_file = certs .. "/ca.pem"}})
    add_methods("tlsreader", tr)
    add_methods("tlswriter", tw)
    values[#values + 1] = tw
  end
  values[#values + 1] = r
  values[#values + 1] = w
  values[#values + 1] = server
  values[#values + 1] = ep
  values[#values + 1] = p
  values[#values + 1] = loop

  -- the objects hostile code may close as well
  local closers = {}
  for _, c in ipairs{{"server", server}, {"writer", w}, {"udp", ep}, {"file", f}, {"http", client}, {"sock", sock},
                     {"web", web}} do
    closers[#closers + 1] = {c[1] .. ":close", c[2].close, c[2]}
  end
  local in_hostile = false
  hostile_call = function()
    -- one at a time: a call made by hostile code runs no more of it
    if in_hostile then return end
    in_hostile = true
    local t = math.random(4) == 1 and closers[math.random(#closers)] or targets[math.random(#targets)]
    -- the loop's __close, run while asyncio.run shuts down (the loop not
    -- running), would close it under asyncio.run: an error, rightly
    if t[1] == "loop:__close" then t = closers[1] end
    local n = math.random(0, 3)
    local args = {n = n}
    for j = 1, n do args[j] = V() end
    if verbose then io.stderr:write("  hostile ", t[1], "\n") end
    if t[3] then
      pcall(t[2], math.random(4) == 1 and V() or t[3], table.unpack(args, 1, n))
    else
      pcall(t[2], table.unpack(args, 1, n))
    end
    in_hostile = false
  end

  -- one random call, and now and then a pass of the loop
  local function one_call(i)
    local t = targets[math.random(#targets)]
    local n = math.random(0, 4)
    local args = {n = n}
    for j = 1, n do args[j] = V() end
    if verbose then
      local s = {}
      for j = 1, n do s[j] = type(args[j]) == "string" and ("%q"):format(args[j]:sub(1, 10)) or tostring(args[j]) end
      io.stderr:write(i, " ", t[1], "(", table.concat(s, ", "), ")\n")
    end
    local ok, res
    if t[3] then
      -- the right self, or a random one
      local self = math.random(4) == 1 and V() or t[3]
      ok, res = pcall(t[2], self, table.unpack(args, 1, n))
    else
      ok, res = pcall(t[2], table.unpack(args, 1, n))
    end
    if ok then result_await(res) end
    if math.random(20) == 1 then await asyncio.sleep(0) end
    if hostile and math.random(3) == 1 then setmetatable({}, {__gc = hostile_call}) end
  end

  -- in one order whatever the order of pairs(), so that a seed replays
  table.sort(targets, function(a, b) return a[1] < b[1] end)
  local me = asyncio.current_task()
  for i = 1, iters do
    -- what the call left behind: a cancellation of this task (cancelled
    -- through a random self), or a memory error outside the call (run-misuse
    -- --oom) that this task survives as a server survives its handler's
    local ok, err = pcall(one_call, i)
    while me:cancelling() > 0 do me:uncancel() end
    if not ok and not asyncio.iserror(err, asyncio.CancelledError) and err ~= "not enough memory" then
      error(err, 0)
    end
  end
  other_loop:close()
end, {debug = seed % 4 == 0, virtual_time = seed % 4 == 1})
print(("misuse: %d calls, seed %d%s"):format(iters, seed,
  seed % 4 == 0 and ", debug mode" or seed % 4 == 1 and ", virtual time" or hostile and ", hostile" or ""))
