-- A SIGINT inherited as ignored is handled anyway while alua runs a chunk,
-- as lua5.4 does (its own test suite runs a script with & and interrupts it).
local _ <close> = require "clean_loop"
local alua = arg[-1]
local script = [[
local pid = io.popen("echo $PPID"):read("l")
os.execute("(sleep 0.1; kill -INT " .. pid .. ") &")
print(pcall(function() while true do end end))
print("after")
]]
local f = io.popen("trap '' INT; " .. alua .. " -e '" .. script .. "'; echo status $?")
io.write(f:read("a"))
f:close()
