-- Lexing corner cases of Lua 5.4, with keyword-like text in every place
-- where it is not code. The translator must return this file byte for
-- byte; each assert checks that Lua reads it the way the comments say.

-- short strings: escapes, quotes of the other kind, and \z
local s1 = "await x; async function f() end"
local s2 = 'await x; async function f() end'
local s3 = "\"await x\" \\" .. '\'async function\' \\'
local s4 = "a\z
            wait x"
local s5 = 'line one\
await x'
local s6 = "\x61wait \u{61}sync \97wait \065 \0 \a\b\f\n\r\t\v\\\"\'"
assert(s1 == s2 and #s3 == 29 and s4 == "await x" and s5 == "line one\nawait x")
assert(s6:sub(1, 5) == "await" and s6:sub(7, 11) == "async")

-- long strings of several levels, holding closing brackets of other levels
local l0 = [[await x ]=] ]==] async function f() end]]
local l1 = [=[await x ]] ]==] [[ async function]=]
local l2 = [==[
await x
]] ]=] async function f() end ]===]
]==]
local l3 = [====[]====]
assert(l0:find("]=]", 1, true) and l1:find("]]", 1, true))
assert(l2:sub(1, 7) == "await x" and l3 == "")

-- comments: short, long, of several levels, and lookalikes
-- await x
--[[ await x
async function f() end ]]
--[==[ await x ]] ]=] async function f() end ]==]
--[ this is a short comment: await x
--[=  also short: async function f() end
---[[ still short
local after_comments = 1 --[[ await x ]] + 1 -- await x
assert(after_comments == 2)

-- numerals
local n = { 3, 345, 0xff, 0xBEBADA, 3.0, 3.1416, 314.16e-2, 0.31416E1,
  34e1, 0x0.1E, 0xA23p-4, 0X1.921FB54442D18P+1, .5, 5., 1e+5, 0x.8p1 }
assert(n[3] == 255 and n[13] == 0.5 and n[16] == 1.0 and #n == 16)
local dots = 1 .. 2 .. (3)
assert(dots == "123")
local conc = n[1]..n[2]
assert(conc == "3345")

-- operators that share characters
local ops = { 7 // 2, 7 / 2, 1 << 4, 256 >> 4, 6 & 3, 6 | 3, 6 ~ 3, ~0,
  1 ~= 2, 1 <= 2, 2 >= 1, 1 < 2, 2 > 1, 1 == 1, -(-1), not nil, #"abc" }
assert(ops[1] == 3 and ops[7] == 5 and ops[8] == -1 and ops[17] == 3)

-- labels, goto and attributes
do
  local i = 0
  ::top::
  i = i + 1
  if i < 5 then goto top end
  assert(i == 5)
end
do
  local closed = false
  do
    local c <close> = setmetatable({}, { __close = function() closed = true end })
    local k <const> = 42
    assert(k == 42 and c)
  end
  assert(closed)
end

-- method calls on string literals and calls without parentheses
local up = ("await"):upper()
local rep = ("async "):rep(2)
local fmt = ("%s %s"):format("await", [[async]])
local len = #"await" + #[[async]]
local lower = string.lower"AWAIT"
local tbl = table.concat{ "a", "w", "a", "i", "t" }
assert(up == "AWAIT" and rep == "async async " and fmt == "await async")
assert(len == 10 and lower == "await" and tbl == "await")

-- fields and methods whose names are the keywords
local o = { await = 1, async = 2 }
function o:await_value() return self.await end
o.await = o.async + o["await"]
assert(o:await_value() == 3)

-- line ends: this file may be checked with CRLF line ends as well
local crlf = "a\
b"
assert(crlf == "a\nb")

return s1, l2, n
