-- load with a reader function: the pieces are joined as lua5.4 joins them.
-- A piece that is a number is its text; it once ended the chunk (its
-- length was taken as 0).
local _ <close> = require "clean_loop"

local function reader(pieces)
  local i = 0
  return function()
    i = i + 1
    return pieces[i]
  end
end

print(load(reader{"return ", 42, " + ", 1})())
print(load(reader{"return ", 1.5, " * 2"})())
-- more than a Lua buffer's first block, numbers among the strings
local pieces = {"return #'"}
for i = 1, 3000 do pieces[#pieces + 1] = i % 10 end
pieces[#pieces + 1] = string.rep("x", 9000)
pieces[#pieces + 1] = "'"
print(load(reader(pieces))())
-- an empty string ends the chunk, as nil does
print(load(reader{"return 1", "", "+ 1"})())
-- a reader's error, and a piece that is neither, after 9 KB
local long = "return '" .. string.rep("y", 9000)
print(load(reader{long, function() end}))
print(load(function() if long then local s = long; long = nil; return s end error("reader failed") end))
