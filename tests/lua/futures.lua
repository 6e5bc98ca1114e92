-- Future states, InvalidStateError, done callbacks through the ready queue in
-- registration order, remove_done_callback, results of several values.
local _ <close> = require "clean_loop"
local asyncio = require "asyncio"
local A, await = asyncio.async, asyncio.await

local main = A(function()
  local f = asyncio.Future()
  print(f, f:done(), f:cancelled())
  local ok, e = pcall(f.result, f)
  print(ok, asyncio.iserror(e, asyncio.InvalidStateError), tostring(e):match("InvalidStateError: .*result is not set") ~= nil)
  print(pcall(f.exception, f) == false)
  local order = {}
  local function cb(name) return function(fut) order[#order + 1] = name .. "=" .. tostring(fut:result()) end end
  local cb_b = cb("b")
  f:add_done_callback(cb("a"))
  f:add_done_callback(cb_b)
  f:add_done_callback(cb("c"))
  f:add_done_callback(cb_b)
  print("removed", f:remove_done_callback(cb_b))
  f:set_result(7, "x")
  -- callbacks never run inside set_result
  print("after set_result", #order)
  local e2 = select(2, pcall(f.set_result, f, 1))
  print(asyncio.iserror(e2, asyncio.InvalidStateError))
  print(pcall(f.set_exception, f, "late") == false)
  await(asyncio.sleep(0))
  print(table.concat(order, " "))
  print(f:result())
  print(await(f))
  print(f)
  -- a callback added after completion is scheduled too
  f:add_done_callback(function() order[#order + 1] = "late" end)
  await(asyncio.sleep(0))
  print(order[#order])
  -- errors
  local g = asyncio.get_running_loop():create_future()
  g:set_exception({code = 5})
  local ok2, err = pcall(await, g)
  print(ok2, type(err), err.code, g:exception() == err)
  -- cancel
  local h = asyncio.Future()
  h:add_done_callback(function(x) print("cancelled callback", x:cancelled()) end)
  print(h:cancel("no longer needed"), h:cancel(), h:cancelled(), h:done())
  local ok3, ce = pcall(h.result, h)
  print(ok3, tostring(ce))
  await(asyncio.sleep(0))
  -- an error in a callback is reported, never stops the loop
  local k = asyncio.Future()
  k:add_done_callback(function() error("callback failed", 0) end)
  k:add_done_callback(function() print("next callback still runs") end)
  k:set_result()
  await(asyncio.sleep(0))
  print(pcall(g.set_result, 1))
end, "main")
asyncio.run(main)
