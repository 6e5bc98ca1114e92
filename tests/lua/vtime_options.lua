-- The virtual_time option of new_event_loop and asyncio.run, and its errors.
local _ <close> = require "clean_loop"
local function show(ok, err) print(ok, err) end

local loop = asyncio.new_event_loop{virtual_time = true}
print("new_event_loop{virtual_time = true}:", loop:is_virtual_time(), loop:time())
print("result:", loop:run_until_complete(asyncio.sleep(120, "slept")), loop:time())
loop:close()
loop = asyncio.new_event_loop{virtual_time = false}
print("new_event_loop{virtual_time = false}:", loop:is_virtual_time(), loop:time() > 0)
loop:close()
loop = asyncio.new_event_loop()
print("new_event_loop():", loop:is_virtual_time())
loop:close()
loop = asyncio.new_event_loop({}); print("new_event_loop{}:", loop:is_virtual_time()); loop:close()

show(pcall(asyncio.new_event_loop, {virtual_tme = true}))
show(pcall(asyncio.new_event_loop, {virtual_time = "yes"}))
show(pcall(asyncio.new_event_loop, {true}))
show(pcall(asyncio.new_event_loop, 5))
print(pcall(function() asyncio.new_event_loop{debug = true} end))

-- run: both options together; a table with another key stays an argument
asyncio.run(async function()
  local l = asyncio.get_running_loop()
  print("run{debug, virtual_time}:", l:get_debug(), l:is_virtual_time())
end, {debug = true, virtual_time = true})
asyncio.run(async function(a, t)
  print("arguments:", a, t.virtual_time, t.x, asyncio.get_running_loop():is_virtual_time())
end, 1, {virtual_time = true, x = 2})
asyncio.run(async function()
  print("run{virtual_time = false}:", asyncio.get_running_loop():is_virtual_time())
end, {virtual_time = false})
print(pcall(asyncio.run, async function() end, {virtual_time = 1}))
print(tostring(asyncio.get_event_loop():is_virtual_time()))
