-- The tutorial's player (alua --tutorial, SPEC 8). It shows the lessons
-- (lib/tutorial/NN_name.lua) step by step -- the explanation, the example
-- run under virtual time, the exercise -- and handles the commands typed at
-- the prompt between steps. The prompt itself is the ordinary REPL
-- (src/cli/repl.c), which hands every line to P.command first.
--
-- Receives the host's functions (src/cli/tutorial.c): files, load, sandbox,
-- width, isatty, mkdir. Returns P: start, command, finish.
local host = ...

local asyncio = asyncio
local format, concat = string.format, table.concat

local P = {}

-- ==========================================================================
-- Text: language, width, wrapping, colour
-- ==========================================================================

local lang = "en"

-- The learner's language's text of a {en =, zh =} pair (or a plain string).
local function tr(x)
  if type(x) == "table" then return x[lang] or x.en end
  return x
end

-- The words of the interface itself, in both languages.
local UI = {
  lesson = {en = "Lesson", zh = "第"},
  example = {en = "example", zh = "示例"},
  exercise = {en = "exercise", zh = "练习"},
  run_header = {en = "run under virtual time", zh = "在虚拟时间下运行"},
  timeline = {en = "timeline", zh = "时间线"},
  no_output = {en = "(no output)", zh = "（没有输出）"},
  cut_off = {en = "(the rest of the output was cut off: more than a megabyte)",
             zh = "（输出超过 1 MB，其余部分已截去）"},
  finished = {en = "main finished at t=%s", zh = "main 在 t=%s 结束"},
  failed = {en = "main failed at t=%s:", zh = "main 在 t=%s 出错："},
  left_pending = {en = "left pending when main returned:", zh = "main 返回时仍未完成的任务："},
  syntax = {en = "the program does not compile:", zh = "程序无法编译："},
  next_example = {en = "next ▸ the example", zh = "next ▸ 看示例"},
  next_exercise = {en = "next ▸ the exercise", zh = "next ▸ 做练习"},
  next_lesson = {en = "next ▸ lesson %d", zh = "next ▸ 第 %d 课"},
  last_lesson = {en = "this is the last lesson", zh = "这是最后一课"},
  help_hint = {en = "help: all commands", zh = "help：全部命令"},
  defined = {en = "At the prompt, %s %s defined (real time there): try %s",
             zh = "提示符下已定义 %s%s（那里是真实时间），试试 %s"},
  is = {en = "is", zh = ""}, are = {en = "are", zh = ""},
  your_copy = {en = "Your copy: %s", zh = "你的练习文件：%s"},
  ex_commands = {en = "edit · check · hint · solution · reset",
                 zh = "edit 编辑 · check 检查 · hint 提示 · solution 答案 · reset 重置"},
  checking = {en = "check %s", zh = "检查 %s"},
  passed = {en = "All checks pass. Lesson %d is done.", zh = "全部检查通过，第 %d 课完成。"},
  all_done = {en = "That was the last lesson: %d of %d done. Well done!",
              zh = "这是最后一课：已完成 %d 课，共 %d 课。辛苦了！"},
  output_was = {en = "what it printed:", zh = "它的输出："},
  hint = {en = "Hint %d of %d:", zh = "提示 %d/%d："},
  no_more_hints = {en = "That was the last hint; `solution` shows the reference solution.",
                   zh = "提示已经用完；`solution` 可以看参考答案。"},
  solution = {en = "reference solution", zh = "参考答案"},
  solution_note = {en = "Yours does not have to look like it: `check` tests what it does.",
                   zh = "你的写法不必和它一样：`check` 检查的是程序的行为。"},
  reset_done = {en = "%s holds the starter code again (the old one is in %s).",
                zh = "%s 已恢复成初始代码（原来的内容在 %s）。"},
  edit_failed = {en = "the editor failed (%s); edit %s in your own editor, then type `check`.",
                 zh = "编辑器没能正常运行（%s）；请用你自己的编辑器修改 %s，然后输入 `check`。"},
  no_editor = {en = "EDITOR is not set; using vi. (EDITOR=nano alua --tutorial picks another.)",
               zh = "没有设置 EDITOR，使用 vi。（用 EDITOR=nano alua --tutorial 可以换一个。）"},
  cannot_save = {en = "cannot save progress: %s", zh = "无法保存进度：%s"},
  no_lesson = {en = "there is no lesson %s (1 to %d)", zh = "没有第 %s 课（共 1 到 %d 课）"},
  goto_usage = {en = "goto needs a lesson number, 1 to %d", zh = "goto 后面要跟课程编号，1 到 %d"},
  lang_usage = {en = "lang en or lang zh", zh = "lang en 或 lang zh"},
  first_step = {en = "this is the first step", zh = "已经是第一步了"},
  welcome = {
    en = "Welcome to alua's tutorial: asynchronous programming, one lesson at a time. "
      .. "Each lesson explains an idea, runs an example under virtual time -- its output "
      .. "is exact and instant, with the time of every line -- and gives you an "
      .. "exercise to fix. Between steps you are at an alua prompt: try things out "
      .. "there. Type `next` to go on, `help` for all commands. Your progress is saved.",
    zh = "欢迎来到 alua 教程：一课一课地学会异步编程。每课先讲一个概念，再在虚拟时间下运行示例"
      .. "（输出精确、瞬间完成，每一行都标出打印的时间），最后留一道要你修好的练习。"
      .. "两步之间你就在 alua 的提示符下，可以随手试验。输入 `next` 继续，`help` 查看全部命令。"
      .. "学习进度会自动保存。",
  },
  resume = {en = "Welcome back: lesson %d, where you left off.", zh = "欢迎回来，从上次的第 %d 课继续。"},
  help = {
    en = [[
Commands (anything else is Lua, run at the prompt; top-level await works):
  next, prev       the next or previous step (explanation, example, exercise)
  goto N           lesson N
  list             all lessons; ✓ marks the ones whose exercise you passed
  run              run the example (in the exercise: your program) again
  edit             open your copy of the exercise in $VISUAL or $EDITOR
  check            check your exercise
  hint             the next hint
  solution         the reference solution
  reset            put the starter code back in your copy
  lang en|zh       English or Chinese
  help             this list
  quit             leave (Ctrl+D too); `alua --tutorial` resumes here
=help lists what asyncio offers; help(asyncio.sleep) shows one entry.]],
    zh = [[
命令（其余输入都当作 Lua 代码在提示符下运行，顶层可以直接 await）：
  next, prev       下一步或上一步（讲解、示例、练习）
  goto N           跳到第 N 课
  list             列出所有课程；✓ 表示练习已通过
  run              重新运行示例（在练习这一步则运行你的程序）
  edit             用 $VISUAL 或 $EDITOR 打开你的练习文件
  check            检查你的练习
  hint             下一条提示
  solution         参考答案
  reset            把练习文件恢复成初始代码
  lang en|zh       切换英文或中文
  help             显示这份列表
  quit             退出（Ctrl+D 也可以）；再次运行 alua --tutorial 会从这里继续
=help 列出 asyncio 提供的全部功能；help(asyncio.sleep) 查看其中一条。]],
  },
}

local function ui(key, ...)
  local s = tr(UI[key])
  if select("#", ...) > 0 then return format(s, ...) end
  return s
end

-- Display width of a UTF-8 string: East Asian wide characters take two
-- columns. Escape sequences must already be gone.
local function is_wide(c)
  return (c >= 0x1100 and c <= 0x115F) or (c >= 0x2E80 and c <= 0x303E) or (c >= 0x3041 and c <= 0x33FF)
    or (c >= 0x3400 and c <= 0x4DBF) or (c >= 0x4E00 and c <= 0x9FFF) or (c >= 0xA000 and c <= 0xA4CF)
    or (c >= 0xAC00 and c <= 0xD7A3) or (c >= 0xF900 and c <= 0xFAFF) or (c >= 0xFE30 and c <= 0xFE4F)
    or (c >= 0xFF00 and c <= 0xFF60) or (c >= 0xFFE0 and c <= 0xFFE6) or (c >= 0x20000 and c <= 0x3FFFD)
end

local function width(s)
  local w = 0
  for _, c in utf8.codes(s, true) do w = w + (is_wide(c) and 2 or 1) end
  return w
end

local colour = false

local function sgr(code)
  return function(s)
    if not colour or s == "" then return s end
    return "\27[" .. code .. "m" .. s .. "\27[0m"
  end
end
local bold, dim, red, green, yellow, cyan = sgr("1"), sgr("2"), sgr("31"), sgr("32"), sgr("33"), sgr("36")
local magenta, grey, blue = sgr("35"), sgr("90"), sgr("34")

-- Lua (with async/await) in colour: keywords, strings, numbers, comments.
local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or repeat return
  then true until while]]):gmatch("%a+") do KEYWORDS[w] = true end

local function highlight(code)
  if not colour then return code end
  local out, i, n = {}, 1, #code
  while i <= n do
    local c = code:sub(i, i)
    local s, e
    if code:find("^%-%-", i) then
      local eq = code:match("^%-%-%[(=*)%[", i)
      if eq then
        s, e = i, select(2, code:find("]" .. eq .. "]", i, true)) or n
      else
        s, e = i, (code:find("\n", i, true) or n + 1) - 1
      end
      out[#out + 1] = grey(code:sub(s, e))
    elseif c == '"' or c == "'" then
      e = i + 1
      while e <= n do
        local d = code:sub(e, e)
        if d == "\\" then e = e + 1 elseif d == c or d == "\n" then break end
        e = e + 1
      end
      out[#out + 1] = green(code:sub(i, e))
    elseif code:find("^%[=*%[", i) then
      local eq = code:match("^%[(=*)%[", i)
      e = select(2, code:find("]" .. eq .. "]", i, true)) or n
      out[#out + 1] = green(code:sub(i, e))
    elseif c:find("[%a_]") then
      e = select(2, code:find("^[%w_]+", i))
      local w = code:sub(i, e)
      if w == "async" or w == "await" then
        out[#out + 1] = bold(cyan(w))
      elseif KEYWORDS[w] then
        out[#out + 1] = magenta(w)
      elseif w == "asyncio" then
        out[#out + 1] = blue(w)
      else
        out[#out + 1] = w
      end
    elseif c:find("%d") then
      e = select(2, code:find("^%d[%w%.]*", i))
      out[#out + 1] = yellow(code:sub(i, e))
    else
      e = i
      out[#out + 1] = c
    end
    i = e + 1
  end
  return concat(out)
end

-- Punctuation that must not start a line (it sticks to what comes before)
-- and that must not end one (it sticks to what follows).
local CLOSING, OPENING = {}, {}
for _, c in utf8.codes("，。、；：？！）」』》％,.;:?!)") do CLOSING[c] = true end
for _, c in utf8.codes("（「『《") do OPENING[c] = true end

-- Full-width punctuation: no space is needed next to it.
local function is_cjk_punct(c)
  return (c >= 0x3000 and c <= 0x303F) or (c >= 0xFF00 and c <= 0xFF0F) or (c >= 0xFF1A and c <= 0xFF20)
    or (c >= 0xFF3B and c <= 0xFF40) or (c >= 0xFF5B and c <= 0xFF65)
end

-- Splits text into units for wrapping: {text =, w =, space = a space goes
-- before it when not at the start of a line, code = an inline `code` span}.
-- A break may come before any unit; between two CJK characters no space is
-- needed.
local function units(text)
  local list, i, n, space, opening = {}, 1, #text, false, ""
  local function add(s, code)
    local first = utf8.codepoint(s, 1)
    if not code and not space and #list > 0 and CLOSING[first] then
      local last = list[#list]
      if last.code then
        last.tail = (last.tail or "") .. s
      else
        last.text = last.text .. s
      end
      last.w = last.w + width(s)
      return
    end
    if not code and OPENING[first] and #s == #utf8.char(first) then
      opening = opening .. s
      return
    end
    list[#list + 1] = {text = s, w = width(s) + width(opening), space = space and #list > 0, code = code,
                       head = opening ~= "" and opening or nil}
    space, opening = false, ""
  end
  while i <= n do
    local c = text:sub(i, i)
    if c == " " or c == "\n" or c == "\t" then
      space = true
      i = i + 1
    elseif c == "`" and text:find("`", i + 1, true) then
      local e = text:find("`", i + 1, true)
      add(text:sub(i, e), true)
      i = e + 1
    elseif c == '"' and text:find('^[^"\n]-"', i + 1) and select(2, text:find('^[^"\n]-"', i + 1)) - i < 30 then
      -- a short quoted string ("total: 600 KB") is not broken across lines
      local e = select(2, text:find('^[^"\n]-"', i + 1))
      add(text:sub(i, e))
      i = e + 1
    else
      local cp = utf8.codepoint(text, i)
      local len = #utf8.char(cp)
      if is_wide(cp) then
        add(text:sub(i, i + len - 1))
        i = i + len
      else
        -- a run of narrow characters: up to a space, a backquote or a CJK
        -- character (no space is then needed before or after it)
        local e = i
        while e <= n do
          local d = text:sub(e, e)
          if d == " " or d == "\n" or d == "\t" or d == "`" then break end
          local dc = utf8.codepoint(text, e)
          if is_wide(dc) then break end
          e = e + #utf8.char(dc)
        end
        add(text:sub(i, e - 1))
        i = e
      end
    end
  end
  if opening ~= "" then add(opening) end
  return list
end

-- A unit as shown: `code` spans in colour lose their backquotes.
local function render_unit(u)
  local head, tail = u.head or "", u.tail or ""
  if u.code and colour then
    local inner = u.text:sub(2, -2)
    return head .. cyan(inner) .. tail, u.w - 2
  end
  return head .. u.text .. tail, u.w
end

-- Wraps a paragraph to `cols` columns with `indent` before each line (and
-- `first` before the first one instead, when given). Returns a list of lines.
local function wrap(text, cols, indent, first)
  indent = indent or ""
  local lines, line, used = {}, {}, 0
  local lead = first or indent
  local room = cols - width(lead)
  for _, u in ipairs(units(text)) do
    local s, w = render_unit(u)
    local gap = (u.space and used > 0) and 1 or 0
    if used > 0 and used + gap + w > room then
      lines[#lines + 1] = lead .. concat(line)
      line, used, lead = {}, 0, indent
      room = cols - width(lead)
      gap = 0
    end
    if gap == 1 then line[#line + 1] = " " end
    line[#line + 1] = s
    used = used + gap + w
  end
  if used > 0 or #lines == 0 then lines[#lines + 1] = lead .. concat(line) end
  return lines
end

-- The separator that joins two source lines of a paragraph: none next to a
-- CJK character or full-width punctuation, except between a CJK character
-- and Latin text (Chinese puts a space there).
local function joiner(before, after)
  local last
  for _, c in utf8.codes(before, true) do last = c end
  local first = utf8.codepoint(after, 1)
  if not last or not first then return " " end
  if is_cjk_punct(last) or is_cjk_punct(first) then return "" end
  if is_wide(last) and is_wide(first) then return "" end
  return " "
end

-- Lays out a lesson text: paragraphs (lines joined; blank lines between),
-- "- " list items with a hanging indent, and lines indented by two spaces
-- or more kept as they are (code, shown in colour). Returns lines.
local function layout(text, cols)
  local out = {}
  local para, item = nil, false
  local function flush()
    if para then
      local lines = item and wrap(para, cols, "  ", "- ") or wrap(para, cols)
      for _, l in ipairs(lines) do out[#out + 1] = l end
    end
    para, item = nil, false
  end
  text = text:gsub("^\n+", ""):gsub("%s+$", "")
  for line in (text .. "\n"):gmatch("(.-)\n") do
    if line:find("^%s*$") then
      flush()
      out[#out + 1] = ""
    elseif line:find("^  ") and not (para and item and line:find("^  %S")) then
      flush()
      out[#out + 1] = highlight(line)
    elseif line:find("^%- ") then
      flush()
      para, item = line:sub(3), true
    elseif para then
      local rest = line:gsub("^%s+", "")
      para = para .. joiner(para, rest) .. rest
    else
      para = line
    end
  end
  flush()
  return out
end

-- Columns to lay text out in: the terminal's, at most 80.
local function columns()
  local w = host.width()
  if w <= 0 or w > 80 then return 80 end
  return math.max(w, 40)
end

local function say(s) print(s) end

local function rule(title, heavy)
  local cols = columns()
  local bar = heavy and "━" or "─"
  local head = bar .. bar .. " " .. title .. " "
  return head .. bar:rep(math.max(cols - width(head), 2))
end

-- ==========================================================================
-- Lessons
-- ==========================================================================

local lessons = {}   -- in order: {id =, module =, n =, data = the lesson's table}
local by_id = {}

local function load_lessons()
  for _, name in ipairs(host.files()) do
    local id = name:match("^tutorial%.(%d%d_[%w_]+)$")
    if id then lessons[#lessons + 1] = {id = id, module = name} end
  end
  table.sort(lessons, function(a, b) return a.id < b.id end)
  for i, l in ipairs(lessons) do
    l.n = i
    l.data = assert(host.load(l.module))()
    by_id[l.id] = l
  end
end

-- A program's text in the learner's language: a comment that starts with a
-- language tag, `--[en] ...` or `--[zh] ...`, is kept only for that
-- language (without the tag); a line left empty by that goes away.
local function localize(code)
  code = tr(code)
  local out = {}
  for line in (code:gsub("^\n", "") .. "\n"):gmatch("(.-)\n") do
    local at = line:find("%-%-%[%a%a%]")
    if not at then
      out[#out + 1] = line
    else
      local before, comment, kept = line:sub(1, at - 1), line:sub(at), nil
      local pos = 1
      while true do
        local s, e, tag = comment:find("%-%-%[(%a%a)%]", pos)
        if not s then break end
        local nexts = comment:find("%-%-%[%a%a%]", e + 1)
        if tag == lang then
          kept = comment:sub(e + 1, (nexts or #comment + 1) - 1):gsub("^%s+", ""):gsub("%s+$", "")
        end
        pos = nexts or #comment + 1
      end
      if kept then
        out[#out + 1] = before .. "-- " .. kept
      elseif not before:find("^%s*$") then
        out[#out + 1] = (before:gsub("%s+$", ""))
      end
    end
  end
  while out[#out] == "" do out[#out] = nil end
  return concat(out, "\n") .. "\n"
end

-- ==========================================================================
-- Progress and files
-- ==========================================================================

local home = os.getenv("HOME")

local function state_dir()
  local xdg = os.getenv("XDG_STATE_HOME")
  if xdg and xdg:sub(1, 1) == "/" then return xdg .. "/alua/tutorial" end
  if home and home ~= "" then return home .. "/.local/state/alua/tutorial" end
end

local dir = nil          -- where progress and exercises live (nil: nowhere)
local progress = {lesson = nil, step = 1, lang = nil, passed = {}, seen = {}, hints = {}}
local warned_save = false

local function shorten(path)
  if home and home ~= "" and path:sub(1, #home + 1) == home .. "/" then return "~" .. path:sub(#home + 1) end
  return path
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function write_file(path, text)
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "wb")
  if not f then return nil, err end
  local ok, werr = f:write(text)
  local cok, cerr = f:close()
  if not ok or not cok then
    os.remove(tmp)
    return nil, werr or cerr
  end
  return os.rename(tmp, path)
end

local function serialise(v, indent)
  indent = indent or ""
  if type(v) ~= "table" then return format("%q", v) end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local parts = {}
  for _, k in ipairs(keys) do
    local key = type(k) == "string" and k:find("^[%a_][%w_]*$") and k or "[" .. format("%q", k) .. "]"
    parts[#parts + 1] = indent .. "  " .. key .. " = " .. serialise(v[k], indent .. "  ") .. ",\n"
  end
  return "{\n" .. concat(parts) .. indent .. "}"
end

local function save()
  if not dir then return end
  local ok, err = host.mkdir(dir)
  if ok then ok, err = write_file(dir .. "/progress.lua", "return " .. serialise(progress) .. "\n") end
  if not ok and not warned_save then
    warned_save = true
    say(red(ui("cannot_save", tostring(err))))
  end
end

local function load_progress()
  dir = state_dir()
  if not dir then return false end
  local text = read_file(dir .. "/progress.lua")
  if not text then return false end
  local chunk = load(text, "=progress", "t", {})
  local ok, saved = pcall(chunk or error)
  if not ok or type(saved) ~= "table" then return false end
  for _, k in ipairs({"passed", "seen", "hints"}) do
    if type(saved[k]) == "table" then progress[k] = saved[k] end
  end
  if by_id[saved.lesson] then progress.lesson = saved.lesson end
  if math.type(saved.step) == "integer" and saved.step >= 1 and saved.step <= 3 then progress.step = saved.step end
  if saved.lang == "en" or saved.lang == "zh" then progress.lang = saved.lang end
  return progress.lesson ~= nil
end

local function exercise_path(lesson)
  if not dir then return nil end
  return dir .. "/" .. lesson.id .. ".lua"
end

-- The learner's copy of the exercise, made from the starter when missing.
local function ensure_exercise(lesson)
  local path = exercise_path(lesson)
  if not path then return nil end
  if not read_file(path) then
    host.mkdir(dir)
    local ok, err = write_file(path, localize(lesson.data.exercise.starter))
    if not ok then
      say(red(ui("cannot_save", tostring(err))))
      return nil
    end
  end
  return path
end

-- The exercise's code: the learner's copy, or (without a place to keep
-- one) the starter.
local function exercise_code(lesson)
  local path = ensure_exercise(lesson)
  -- named by the file's name alone, so that messages stay short
  local name = "@" .. lesson.id .. ".lua"
  if path then return read_file(path) or "", name, path end
  return localize(lesson.data.exercise.starter), name
end

-- ==========================================================================
-- Running programs in the sandbox and showing what happened
-- ==========================================================================

local function fmt_time(t)
  if t == nil then return "" end
  if t == math.floor(t) then return format("%.1f", t) end
  local s = format("%.3f", t):gsub("0+$", "")
  return s
end

-- Runs code in the sandbox: mode "run" or "check" (with the lesson's
-- checks). Returns the record (see lib/tutorial/sandbox.lua).
local function sandbox(mode, lesson, code, chunkname, exercise)
  local req = {mode = mode, lesson = lesson.module, code = code, chunkname = chunkname, lang = lang,
               width = columns()}
  if mode == "check" or exercise then
    -- what the exercise's checks rely on: debug mode's reports, a timer
    -- that stops a program stuck on a socket
    req.debug = lesson.data.exercise.debug
    req.watchdog = lesson.data.exercise.watchdog
  end
  local text, tail = host.sandbox(serialise(req))
  local rec = assert(load("return " .. text, "=sandbox", "t", {}))()
  rec.lines = rec.lines or {}
  -- what was printed while the sandbox's state closed
  local last = rec.lines[#rec.lines]
  for _, piece in ipairs(tail or {}) do
    for line in piece.text:gmatch("([^\n]*)\n?") do
      if line ~= "" then rec.lines[#rec.lines + 1] = {t = last and last.t, err = piece.err, text = line} end
    end
  end
  return rec
end

-- The output lines as the lessons write them down: "TIME text", and
-- "TIME ! text" for what went to stderr (TIME is "-" before any loop ran).
local function canonical(rec)
  local out = {}
  for _, l in ipairs(rec.lines) do
    local t = l.t and fmt_time(l.t) or "-"
    out[#out + 1] = t .. (l.err and " ! " or " ") .. l.text
  end
  return out
end

-- Prints what a run printed, with the virtual time in a gutter on the left.
local function show_output(rec, limit)
  local lines = rec.lines
  if #lines == 0 then
    say("  " .. dim(ui("no_output")))
    return
  end
  local tw = 3
  for _, l in ipairs(lines) do tw = math.max(tw, #fmt_time(l.t)) end
  local shown = 0
  for _, l in ipairs(lines) do
    shown = shown + 1
    if limit and shown > limit then
      say(dim(format("  %s │ … (%d more)", (" "):rep(tw), #lines - limit)))
      break
    end
    local t = fmt_time(l.t)
    if l.err then
      say(dim(format("  %" .. tw .. "s", t)) .. red(" ! " .. l.text))
    else
      say(dim(format("  %" .. tw .. "s │", t)) .. " " .. l.text)
    end
  end
  if lines.overflow then say("  " .. dim(ui("cut_off"))) end
end

local function show_error(text)
  local first = true
  for line in (text .. "\n"):gmatch("(.-)\n") do
    say("  " .. (first and red(line) or dim(line)))
    first = false
  end
end

-- Shows a run of the example or the learner's program.
local function show_run(rec)
  say(rule(ui("run_header")))
  if rec.load_error then
    say(red(ui("syntax")))
    show_error(rec.load_error)
    return
  end
  show_output(rec, 200)
  if rec.error then
    say(red(ui("failed", fmt_time(rec.time) ~= "" and fmt_time(rec.time) or "?")))
    show_error(rec.error)
  elseif rec.time then
    say(dim("  " .. ui("finished", fmt_time(rec.time))))
  end
  if rec.pending and #rec.pending > 0 then
    say(yellow("  " .. ui("left_pending")))
    for _, t in ipairs(rec.pending) do say("    " .. t) end
  end
  if rec.timeline then
    say(rule(ui("timeline")))
    say((rec.timeline:gsub("\n$", "")))
  end
end

-- ==========================================================================
-- Definitions at the prompt
-- ==========================================================================

local defined = {}   -- {name = value} put into _G for the current lesson
local defined_names = {} -- their names, sorted
local defined_for    -- the lesson (or exercise file) they came from

local function undefine()
  for k, v in pairs(defined) do
    if rawget(_G, k) == v then rawset(_G, k, nil) end
  end
  defined, defined_names = {}, {}
end

-- Runs a program's chunk at the prompt so that its functions are defined
-- there, without running main: asyncio.run does nothing meanwhile. Returns
-- the sorted names it defined, or nil and the error.
local function define(code, chunkname)
  undefine()
  local names = {}
  local env = setmetatable({}, {
    __index = _G,
    __newindex = function(_, k, v)
      rawset(_G, k, v)
      if defined[k] == nil then names[#names + 1] = k end
      defined[k] = v
    end,
  })
  local chunk, err = asyncio.load(code, chunkname, "t", env)
  if not chunk then return nil, err end
  local real = asyncio.run
  asyncio.run = function() end
  local ok, e = pcall(chunk)
  asyncio.run = real
  if not ok then return nil, tostring(e) end
  table.sort(names)
  defined_names = names
  return names
end

local function show_defined()
  local names = defined_names
  if #names == 0 then return end
  local list = {}
  for i, n in ipairs(names) do list[i] = "`" .. n .. "`" end
  local try = defined.main and "`await main()`" or "`" .. names[1] .. "`"
  local text = ui("defined", concat(list, lang == "zh" and "、" or ", "), #names == 1 and ui("is") or ui("are"), try)
  text = text:gsub("  +", " ")
  for _, l in ipairs(wrap(text, columns(), "  ", "  ")) do say(dim(l)) end
end

-- Loads the lesson's example at the prompt (once per lesson).
local function define_example(lesson)
  if defined_for == lesson.id then return end
  defined_for = lesson.id
  define(localize(lesson.data.example), "=" .. lesson.id .. "/example")
end

-- ==========================================================================
-- The views
-- ==========================================================================

local STEPS = 3   -- explanation, example, exercise

local function current()
  return by_id[progress.lesson] or lessons[1]
end

local function title_line(lesson, what)
  local t = tr(lesson.data.title)
  local head
  if lang == "zh" then
    head = format("第 %d/%d 课 · %s", lesson.n, #lessons, t)
  else
    head = format("%s %d/%d · %s", ui("lesson"), lesson.n, #lessons, t)
  end
  if what then head = head .. " · " .. what end
  return bold(rule(head, true))
end

-- The line of commands under a view: it breaks between its parts only.
local function footer(parts)
  say("")
  local line, cols = "  ", columns()
  for i, part in ipairs(parts) do
    local piece = (i > 1 and " · " or "") .. part
    if line ~= "  " and width(line .. piece) > cols then
      say(dim(line))
      line = "  " .. part
    else
      line = line .. piece
    end
  end
  say(dim(line))
end

local function next_label(lesson, step)
  if step == 1 then return ui("next_example") end
  if step == 2 then return ui("next_exercise") end
  if lesson.n < #lessons then return ui("next_lesson", lesson.n + 1) end
  return ui("last_lesson")
end

local function show_text(text)
  for _, l in ipairs(layout(tr(text), columns())) do say(l) end
end

local function show_code(code)
  for line in (code:gsub("\n$", "") .. "\n"):gmatch("([^\n]*)\n") do
    say(line == "" and "" or "  " .. highlight(line))
  end
end

local function show_explanation(lesson)
  say(title_line(lesson))
  show_text(lesson.data.text)
  footer({next_label(lesson, 1), ui("help_hint")})
end

local function run_example(lesson)
  local rec = sandbox("run", lesson, localize(lesson.data.example), "=example")
  show_run(rec)
  return rec
end

local function show_example(lesson)
  say(title_line(lesson, ui("example")))
  show_code(localize(lesson.data.example))
  run_example(lesson)
  say("")
  show_defined()
  footer({next_label(lesson, 2), "run", "prev", ui("help_hint")})
end

local function show_exercise(lesson)
  say(title_line(lesson, ui("exercise")))
  show_text(lesson.data.exercise.text)
  local path = ensure_exercise(lesson)
  if path then
    say("")
    say("  " .. ui("your_copy", bold(shorten(path))))
  end
  footer({ui("ex_commands"), next_label(lesson, 3)})
end

local function show()
  local lesson = current()
  progress.seen[lesson.id] = true
  define_example(lesson)
  if progress.step == 1 then
    show_explanation(lesson)
  elseif progress.step == 2 then
    show_example(lesson)
  else
    show_exercise(lesson)
  end
  save()
end

-- ==========================================================================
-- Commands
-- ==========================================================================

local commands = {}

local function go(lesson, step)
  if lesson.id ~= progress.lesson then
    undefine()
    defined_for = nil
  end
  progress.lesson, progress.step = lesson.id, step
  show()
end

function commands.next()
  local lesson = current()
  if progress.step < STEPS then return go(lesson, progress.step + 1) end
  if lesson.n < #lessons then return go(lessons[lesson.n + 1], 1) end
  local done = 0
  for _, l in ipairs(lessons) do if progress.passed[l.id] then done = done + 1 end end
  say(ui("all_done", done, #lessons))
end

function commands.prev()
  local lesson = current()
  if progress.step > 1 then return go(lesson, progress.step - 1) end
  if lesson.n > 1 then return go(lessons[lesson.n - 1], STEPS) end
  say(ui("first_step"))
end

commands["goto"] = function(arg)
  local n = math.tointeger(tonumber(arg or ""))
  if not arg or arg == "" then return say(ui("goto_usage", #lessons)) end
  if not n or not lessons[n] then return say(red(ui("no_lesson", arg, #lessons))) end
  go(lessons[n], 1)
end

function commands.list()
  local cur = current()
  for _, l in ipairs(lessons) do
    local mark = progress.passed[l.id] and green("✓") or progress.seen[l.id] and "•" or dim("·")
    local here = l == cur and bold("▸") or " "
    local line = format("%s %s %2d  %s", here, mark, l.n, tr(l.data.title))
    say(l == cur and bold(line) or line)
  end
end

function commands.run()
  local lesson = current()
  if progress.step < STEPS then
    run_example(lesson)
  else
    local code, chunkname = exercise_code(lesson)
    show_run(sandbox("run", lesson, code, chunkname, true))
  end
end

local function define_exercise(lesson)
  local code, chunkname = exercise_code(lesson)
  local names, err = define(code, chunkname)
  defined_for = "exercise:" .. lesson.id
  if names then
    show_defined()
  else
    say(red(ui("syntax")))
    show_error(err)
  end
end

-- Checks the learner's exercise and shows each check's outcome.
local function check(lesson)
  local code, chunkname, path = exercise_code(lesson)
  local rec = sandbox("check", lesson, code, chunkname)
  say(rule(ui("checking", shorten(path or chunkname:sub(2)))))
  if rec.load_error then
    say("  " .. red("✗ ") .. ui("syntax"))
    show_error(rec.load_error)
    return false
  end
  local all = true
  for _, c in ipairs(rec.checks or {}) do
    if c.skipped then
      say("  " .. dim("· " .. c.name))
    elseif c.ok then
      say("  " .. green("✓") .. " " .. c.name)
    else
      all = false
      say("  " .. red("✗ " .. c.name))
      for line in ((c.msg or "") .. "\n"):gmatch("(.-)\n") do
        -- a report's own lines (a deadlock's chain, a task tree) stay lines
        local indent = line:match("^%s*")
        local hang = indent ~= "" and "  " or ""
        for _, l in ipairs(wrap(line, columns(), "    " .. indent .. hang, "    " .. indent)) do say(l) end
      end
    end
  end
  if all then
    progress.passed[lesson.id] = true
    save()
    say("")
    say(green(bold(ui("passed", lesson.n))) .. "  " .. dim(next_label(lesson, 3)))
  else
    if #rec.lines > 0 then
      say(dim("  " .. ui("output_was")))
      show_output(rec, 12)
    end
    if rec.timeline then
      say(rule(ui("timeline")))
      say((rec.timeline:gsub("\n$", "")))
    end
  end
  return all
end

function commands.check()
  local lesson = current()
  check(lesson)
end

function commands.edit()
  local lesson = current()
  local path = ensure_exercise(lesson)
  if not path then return end
  local editor = os.getenv("VISUAL")
  if not editor or editor == "" then editor = os.getenv("EDITOR") end
  if not editor or editor == "" then
    say(dim(ui("no_editor")))
    editor = "vi"
  end
  io.stdout:flush()
  local ok, how, code = os.execute(editor .. " '" .. path:gsub("'", "'\\''") .. "'")
  if not ok then
    say(red(ui("edit_failed", format("%s %s", tostring(how), tostring(code)), shorten(path))))
    return
  end
  if progress.step ~= STEPS then
    progress.step = STEPS
    save()
  end
  define_exercise(lesson)
  check(lesson)
end

function commands.hint()
  local lesson = current()
  local hints = lesson.data.exercise.hints
  local n = math.min((progress.hints[lesson.id] or 0) + 1, #hints)
  progress.hints[lesson.id] = n
  save()
  say(bold(ui("hint", n, #hints)))
  show_text(hints[n])
  if n == #hints then say(dim(ui("no_more_hints"))) end
end

function commands.solution()
  local lesson = current()
  say(rule(ui("solution")))
  show_code(localize(lesson.data.exercise.solution))
  say(dim("  " .. ui("solution_note")))
end

function commands.reset()
  local lesson = current()
  local path = exercise_path(lesson)
  if not path then return end
  local old = read_file(path)
  if old then write_file(path .. ".bak", old) end
  os.remove(path)
  ensure_exercise(lesson)
  progress.hints[lesson.id] = nil
  save()
  say(ui("reset_done", shorten(path), shorten(path .. ".bak")))
  if defined_for == "exercise:" .. lesson.id then define_exercise(lesson) end
end

function commands.lang(arg)
  if arg ~= "en" and arg ~= "zh" then return say(ui("lang_usage")) end
  lang = arg
  progress.lang = arg
  show()
end

function commands.help()
  say(tr(UI.help))
end

commands.quit = function()
  save()
  return "quit"
end

-- Called by the REPL with the first line of each statement: "done" when it
-- was a command, "quit" to leave, nil to run it as Lua.
function P.command(line)
  local word, arg = line:match("^%s*(%a+)%s*(.-)%s*$")
  local fn = word and commands[word]
  if not fn then return nil end
  -- a command takes an argument only where it needs one: `next = 1` is Lua
  local takes = word == "goto" or word == "lang"
  if arg ~= "" and not takes then return nil end
  if word == "lang" and arg == "" then arg = nil end
  say("")
  local what = fn(arg ~= "" and arg or nil)
  io.stdout:flush()
  return what or "done"
end

function P.finish()
  save()
  undefine()
end

-- ==========================================================================
-- Checking every lesson (alua --tutorial --check)
-- ==========================================================================

-- Whether an output line (canonical form) is the one a lesson expects. The
-- expected line may say "~" for the time (any time: a worker thread's
-- work takes real time) and end with "..." (any rest: a message with an
-- address or a duration in it).
local function output_matches(got, want)
  if got == nil or want == nil then return got == want end
  if want:sub(1, 2) == "~ " then
    got, want = got:gsub("^%S+ ", ""), want:sub(3)
  end
  if want:sub(-3) == "..." then return got:sub(1, #want - 3) == want:sub(1, -4) end
  return got == want
end

-- Whether the lines got[gi..] are the lines want[wi..]: a line "..." in
-- want stands for any number of lines (output no lesson can spell out,
-- such as a task dump).
local function output_equal(got, gi, want, wi)
  if wi > #want then return gi > #got end
  if want[wi] == "..." then
    for k = gi, #got + 1 do
      if output_equal(got, k, want, wi + 1) then return true end
    end
    return false
  end
  return gi <= #got and output_matches(got[gi], want[wi]) and output_equal(got, gi + 1, want, wi + 1)
end

local function check_all(only)
  local failures = 0
  local function fail(lesson, what)
    failures = failures + 1
    say(format("FAIL %s: %s", lesson.id, what))
  end
  local function has_both(x, where, lesson)
    if type(x) ~= "table" then return true end
    if type(x.en) ~= "string" or type(x.zh) ~= "string" or x.en == "" or x.zh == "" then
      fail(lesson, where .. " lacks English or Chinese")
      return false
    end
    return true
  end
  for _, lesson in ipairs(lessons) do
    if only and lesson ~= only then goto continue end
    local d, before = lesson.data, failures
    local ex = d.exercise
    -- every text in both languages, the explanation on one screen
    for _, field in ipairs({"title", "text"}) do has_both(d[field], field, lesson) end
    if type(d.text) ~= "table" or type(ex.text) ~= "table" or type(d.title) ~= "table" then
      fail(lesson, "title, text and exercise.text must be {en =, zh =}")
    end
    has_both(ex.text, "exercise.text", lesson)
    for i, h in ipairs(ex.hints) do has_both(h, "hint " .. i, lesson) end
    for i, c in ipairs(ex.checks) do
      if type(c.en) ~= "string" or type(c.zh) ~= "string" or type(c[1]) ~= "function" then
        fail(lesson, "check " .. i .. " needs en, zh and a function")
      end
    end
    if #ex.hints == 0 then fail(lesson, "no hints") end
    local n = #layout(tr(d.text), 80)
    if n > 20 then fail(lesson, format("the explanation takes %d lines at 80 columns (at most 20)", n)) end
    n = #layout(tr(ex.text), 80)
    if n > 14 then fail(lesson, format("the exercise takes %d lines at 80 columns (at most 14)", n)) end
    if width(tr(d.title)) > 50 then fail(lesson, "the title is wider than 50 columns") end
    for _, src in ipairs({d.example, ex.starter, ex.solution}) do
      for line in localize(src):gmatch("[^\n]+") do
        if width(line) > 76 then fail(lesson, "a line of code is wider than 76 columns: " .. line) end
      end
    end
    -- the example prints exactly what the lesson says it prints
    local rec = sandbox("run", lesson, localize(d.example), "=example")
    if rec.load_error or rec.error then
      fail(lesson, "the example fails: " .. (rec.load_error or rec.error))
    else
      local got, want = canonical(rec), {}
      for line in d.output:gsub("^\n", ""):gmatch("([^\n]*)\n") do want[#want + 1] = line end
      if not output_equal(got, 1, want, 1) then
        fail(lesson, "the example's output differs from the lesson's; it prints:\n" .. concat(got, "\n"))
      end
      if rec.pending and #rec.pending > 0 then fail(lesson, "the example leaves tasks pending") end
      -- and its timeline is drawn: a row for the main task, and the legend
      if type(rec.timeline) ~= "string" or not rec.timeline:find("\nTask%-1 ") or not rec.timeline:find("█ running") then
        fail(lesson, "the example's run has no timeline:\n" .. tostring(rec.timeline))
      end
    end
    -- the reference solution passes, the starter fails
    local sol = sandbox("check", lesson, localize(ex.solution), "=solution.lua")
    for _, c in ipairs(sol.checks or {}) do
      if not c.ok then fail(lesson, format("the solution fails '%s': %s", c.name, c.msg or "skipped")) break end
    end
    if sol.load_error then fail(lesson, "the solution does not compile: " .. sol.load_error) end
    local st = sandbox("check", lesson, localize(ex.starter), "=starter.lua")
    local why
    for _, c in ipairs(st.checks or {}) do
      if c.broken then fail(lesson, "a check breaks on the starter: " .. c.msg) end
      if c.ok == false then why = c.name .. ": " .. (c.msg or "") break end
    end
    if st.load_error then why = "does not compile: " .. st.load_error end
    if not why then fail(lesson, "the starter passes every check") end
    if failures == before then
      say(format("ok   %s  (the starter fails: %s)", lesson.id, (why or ""):gsub("\n.*", "")))
    end
    ::continue::
  end
  say(format("%d lessons, %s", only and 1 or #lessons, failures == 0 and "all good" or failures .. " problems"))
  return failures == 0 and 0 or 1
end

-- ==========================================================================
-- Starting
-- ==========================================================================

-- The language a zh* locale asks for, else English.
local function locale_lang()
  for _, var in ipairs({"LC_ALL", "LC_MESSAGES", "LANG"}) do
    local v = os.getenv(var)
    if v and v ~= "" then return v:find("^zh") and "zh" or "en" end
  end
  return "en"
end

local USAGE = "usage: alua --tutorial [lesson] [--lang en|zh] [--check]"

-- args: the words after --tutorial. Returns an exit status when done (for
-- --check or a bad argument), or true to go on at the prompt.
function P.start(args, tty)
  load_lessons()
  local want_lang, want_lesson, check_mode
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--lang" then
      want_lang = args[i + 1]
      if want_lang ~= "en" and want_lang ~= "zh" then
        io.stderr:write("alua: --lang takes en or zh\n", USAGE, "\n")
        return 1
      end
      i = i + 1
    elseif a:match("^%-%-lang=") then
      want_lang = a:match("^%-%-lang=(.*)$")
      if want_lang ~= "en" and want_lang ~= "zh" then
        io.stderr:write("alua: --lang takes en or zh\n", USAGE, "\n")
        return 1
      end
    elseif a == "--check" then
      check_mode = true
    elseif math.tointeger(tonumber(a)) and not want_lesson then
      want_lesson = math.tointeger(tonumber(a))
      if not lessons[want_lesson] then
        io.stderr:write(format("alua: there is no lesson %s (1 to %d)\n", a, #lessons))
        return 1
      end
    else
      io.stderr:write(format("alua: unexpected tutorial argument '%s'\n", a), USAGE, "\n")
      return 1
    end
    i = i + 1
  end
  local no_colour = os.getenv("NO_COLOR")
  local term = os.getenv("TERM")
  colour = host.isatty(1) and (no_colour == nil or no_colour == "") and term ~= "dumb"
  if check_mode then
    colour = false
    lang = want_lang or locale_lang()
    return check_all(want_lesson and lessons[want_lesson])
  end
  local resumed = load_progress()
  lang = want_lang or progress.lang or locale_lang()
  if want_lang then progress.lang = want_lang end
  if want_lesson then
    progress.lesson, progress.step = lessons[want_lesson].id, 1
  elseif not resumed then
    progress.lesson, progress.step = lessons[1].id, 1
  end
  if not resumed and not want_lesson then
    for _, l in ipairs(wrap(ui("welcome"), columns())) do say(l) end
    say("")
  elseif resumed and not want_lesson then
    say(dim(ui("resume", current().n)))
    say("")
  end
  show()
  return true
end

return P
