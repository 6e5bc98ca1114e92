-- The await of each type once its metatable is known (the await keeps
-- what it found per metatable), and queues' bound methods: the same
-- results and errors as the first time, whatever was awaited before.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"
local A, await = asyncio.async, asyncio.await

local function try(label, f, ...)
  local ok, err = pcall(f, ...)
  print(label, ok, ok and "" or tostring(err))
end

local add = A(function(a, b) await(asyncio.sleep(0)) return a + b end, "add")
local mt = {__await = function(self) return add(self.n, 1) end}

asyncio.run(A(function()
  local q, q2 = asyncio.Queue(), asyncio.LifoQueue(1)
  local lock, ev = asyncio.Lock(), asyncio.Event()
  local fut = asyncio.get_running_loop():create_future()
  fut:set_result("f")
  for round = 1, 3 do
    local t = asyncio.create_task(add(round, 10))
    await(q:put(round))
    await(q.put(q2, round * 2))
    print(round, await(q:get()), await(q.get(q2)), await(add(round, 1)), await(t), await(fut),
          await(setmetatable({n = round}, mt)), await(asyncio.sleep(0, "s")), await(asyncio.sleep(0.001, "d")))
    await(lock:acquire())
    lock:release()
    ev:set()
    await(ev:wait())
    ev:clear()
    print(round, "two arguments", await(add(1, 2), "extra"))
    local c = add(1, 1)
    await(c)
    try("consumed", function() return await(c) end)
    try("file", function() return await(io.stdout) end)
    try("table", function() return await({}) end)
    try("nil", function() return await() end)
    try("number", function() return await(1) end)
    try("get none", q.get)
    try("get string", q.get, "q")
    try("put none", q.put)
    try("put number", q.put, 5, 5)
    local p = q:put("x")
    await(p)
    try("put again", function() return await(p) end)
    print(round, q:get_nowait(), q:qsize(), q2:qsize())
    local done = asyncio.get_running_loop():create_future()
    asyncio.get_running_loop():call_soon(function()
      local ok, err = pcall(await, asyncio.sleep(0))
      print(round, "callback", ok, err)
      local ok2, err2 = pcall(await, q:get())
      print(round, "callback get", ok2, err2)
      done:set_result(true)
    end)
    await(done)
  end
end))
