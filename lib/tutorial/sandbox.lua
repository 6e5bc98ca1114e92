-- The tutorial's sandbox: runs one program (a lesson's example, the
-- learner's exercise, a reference solution) in a Lua state made for that
-- run alone (src/cli/tutorial.c), under virtual time, and describes what
-- happened as plain data for the player: what it printed and when, when
-- main finished, what it left pending, what went wrong, and, for an
-- exercise, what each of the lesson's checks found.
--
-- Receives the request (a table constructor, as text) and the host's
-- functions; returns the record, as text.
local request_text, host = ...

local asyncio = asyncio
local real_run = asyncio.run
local format, concat, pack, unpack = string.format, table.concat, table.pack, table.unpack

local req = assert(load("return " .. request_text, "=request", "t", {}))()
local lang = req.lang == "zh" and "zh" or "en"

-- The sandbox's own messages, in the learner's language.
local function say(en, zh, ...)
  return format(lang == "zh" and zh or en, ...)
end

-- A program is stopped after STEP_LIMIT times 10000 Lua instructions (half
-- a billion), or when its virtual clock passes TIME_LIMIT seconds (a day).
local STEP_LIMIT = 50000
local TIME_LIMIT = 24 * 3600
local STOP = setmetatable({}, {__tostring = function() return "stopped by the tutorial" end})

-- -- serialising the result ----------------------------------------------

local function serialise(v, out)
  local ty = type(v)
  if ty == "table" then
    out[#out + 1] = "{"
    for k, x in pairs(v) do
      out[#out + 1] = "["
      serialise(k, out)
      out[#out + 1] = "]="
      serialise(x, out)
      out[#out + 1] = ","
    end
    out[#out + 1] = "}"
  elseif ty == "number" or ty == "boolean" or ty == "nil" then
    out[#out + 1] = format("%q", v)
  else
    out[#out + 1] = format("%q", tostring(v))
  end
  return out
end

-- -- the clock and the output ---------------------------------------------

local loop_now = function() return nil end   -- the running program's loop time
local function now()
  local ok, t = pcall(loop_now)
  if ok then return t end
end

-- What prints goes through these, which tag the output with the time
-- first. (Output that C code writes by itself, warnings for instance, gets
-- the time that the guard below last noted.)
local function timed(fn)
  return function(...)
    host.settime(now())
    return fn(...)
  end
end
print = timed(print)
io.write = timed(io.write)
local file_methods = getmetatable(io.stdout).__index
file_methods.write = timed(file_methods.write)
asyncio.print_ps = timed(asyncio.print_ps)

function os.exit(code)
  error(say("os.exit(%s) was called: the tutorial does not let a program end the session",
            "程序调用了 os.exit(%s)：教程不允许程序结束整个会话", tostring(code)), 2)
end

-- Splits captured pieces into lines {t =, err =, text =} appended to list.
-- A line's time is the time its first byte was written at.
local function add_lines(list, pieces, partial)
  for _, piece in ipairs(pieces) do
    local text, i = piece.text, 1
    while i <= #text do
      local nl = text:find("\n", i, true)
      local chunk = text:sub(i, nl and nl - 1 or #text)
      local open = partial[piece.err]
      if open then
        open.text = open.text .. chunk
      else
        open = {t = piece.t, err = piece.err or nil, text = chunk}
        list[#list + 1] = open
      end
      partial[piece.err] = not nl and open or nil
      i = (nl or #text) + 1
    end
  end
  if pieces.overflow then list.overflow = true end
end

local function fmt_time(t)
  if t == nil then return "?" end
  if t == math.floor(t) then return format("%.1f", t) end
  local s = format("%.3f", t):gsub("0+$", "")
  return s
end

-- -- stopping runaway programs --------------------------------------------

local steps, stopped, last_time = 0, nil, nil

-- The count hook: every 10000 instructions of the program, it brings the
-- time tag of the output up to date and stops a runaway program.
local function guard()
  steps = steps + 1
  local t = now()
  if t and t ~= last_time then
    last_time = t
    host.settime(t)
  end
  if not stopped then
    if steps > STEP_LIMIT then
      stopped = "steps"
    elseif t and t > TIME_LIMIT then
      stopped = "time"
    end
  end
  if stopped then error(STOP, 0) end
end

-- -- running a program -----------------------------------------------------

local function describe_error(e, rec)
  if rec and rec.stopped == "waiting" then
    return say("still waiting at t=%s: stopped by the tutorial", "到 t=%s 还在等待：已被教程叫停",
               fmt_time(req.watchdog))
  end
  if e == STOP then
    if stopped == "time" then
      return say("still running at t=%d: stopped by the tutorial", "到 t=%d 还在运行：已被教程叫停", TIME_LIMIT)
    end
    return say("still running after 500 million Lua instructions: stopped by the tutorial",
               "执行了 5 亿条 Lua 指令还没结束：已被教程叫停")
  end
  if asyncio.iserror(e) then return tostring(e) end
  if type(e) == "string" then return e end
  local ok, s = pcall(tostring, e)
  return ok and s or "(error object is a " .. type(e) .. " value)"
end

-- The record of the run being made: set while asyncio.run runs.
local current

-- Wraps main (a coroutine object, an async function or a function, with its
-- arguments) so that the record notes when it ended, what it returned or
-- raised, and which tasks it left pending. The wrapper takes main's name, so
-- that the main task reads as the program's own in messages.
local function wrap(main, args, rec)
  local name = "main"
  if asyncio.iscoroutinefunction(main) or asyncio.iscoroutine(main) then
    name = tostring(main):match("'(.-)'") or name
  end
  return asyncio.async(function()
    local loop = asyncio.get_running_loop()
    loop_now = function() return loop:time() end
    local me = asyncio.current_task()
    -- an exercise may wait on sockets, which do not hold the virtual clock:
    -- a program stuck on one would wait forever without this timer
    local watchdog = req.watchdog and loop:call_at(req.watchdog, function()
      rec.stopped = "waiting"
      me:cancel()
    end)
    local results = pack(pcall(function()
      if asyncio.iscoroutine(main) then return asyncio.await(main) end
      if asyncio.iscoroutinefunction(main) then return asyncio.await(main(unpack(args, 1, args.n))) end
      return main(unpack(args, 1, args.n))
    end))
    if watchdog then watchdog:cancel() end
    rec.time = loop:time()
    rec.pending = {}
    for _, t in ipairs(asyncio.all_tasks()) do
      if t ~= me then rec.pending[#rec.pending + 1] = tostring(t) end
    end
    if not results[1] then
      rec.error = describe_error(results[2], rec)
      error(results[2], 0)
    end
    rec.values = {n = results.n - 1, unpack(results, 2, results.n)}
    return unpack(results, 2, results.n)
  end, name)
end

-- asyncio.run as the sandboxed program sees it: the real one, on a loop with
-- virtual time, recording into `current` (the first call of a run only).
-- Why a tail call: debug mode names the line that created the main task,
-- which is then the program's call of asyncio.run, not this function.
local function sandboxed_run(main, ...)
  local args = pack(...)
  local opts = {virtual_time = true}
  if args.n > 0 and type(args[args.n]) == "table" and getmetatable(args[args.n]) == nil then
    local last = args[args.n]
    local only_options = next(last) ~= nil
    for k in pairs(last) do
      if k ~= "debug" and k ~= "virtual_time" then only_options = false end
    end
    if only_options then
      opts.debug = last.debug
      args.n = args.n - 1
    end
  end
  if req.debug then opts.debug = true end
  local rec = current
  if rec and not rec.ran then
    rec.ran = true
    return real_run(wrap(main, args, rec), opts)
  end
  args.n = args.n + 1
  args[args.n] = opts
  return real_run(main, unpack(args, 1, args.n))
end
asyncio.run = sandboxed_run

-- Runs fn(...) (the program's chunk, or a check's scenario) and returns its
-- record: {ran =, time =, pending =, error =, values =, lines =, stopped =}.
local function run_program(fn, ...)
  local rec = {lines = {}}
  current = rec
  steps, stopped = 0, nil
  host.take()
  host.settime(nil)
  last_time = nil
  host.sethook(guard, 10000)
  local ok, err = pcall(fn, ...)
  host.sethook()
  loop_now = function() return nil end
  current = nil
  collectgarbage()
  collectgarbage()
  if not ok then
    -- what came out of asyncio.run wins over what main ended with: a
    -- deadlock is raised by the loop, after it cancelled main
    rec.error = describe_error(err, rec)
  end
  rec.stopped = rec.stopped or stopped
  add_lines(rec.lines, host.take(), {})
  return rec
end

-- -- the program -----------------------------------------------------------

local result = {}

local env = setmetatable({}, {__index = _G})
local chunk, load_error = asyncio.load(req.code, req.chunkname, "t", env)
if not chunk then
  result.load_error = load_error
  return concat(serialise(result, {}))
end

-- The program runs inside asyncio.timeline, which records every task of
-- every loop it makes (all on virtual time) and draws them; what the program
-- raises is raised again after the drawing, so a failed run has a timeline
-- too.
local rec = run_program(function()
  local outcome
  result.timeline = asyncio.timeline(function() outcome = pack(pcall(chunk)) end, {width = req.width or 80})
  if not outcome[1] then error(outcome[2], 0) end
end)
rec.env = env

-- -- the checks --------------------------------------------------------------

-- Picks the learner's language from a {en =, zh =} pair (or a string).
local function tr(x)
  if type(x) == "table" then return x[lang] or x.en end
  return x
end

-- What a lesson's checks receive besides the record.
local T = {}
T.time = fmt_time
function T.msg(en, zh, ...)
  return {en = format(en, ...), zh = format(zh, ...)}
end
function T.near(a, b) return a ~= nil and b ~= nil and math.abs(a - b) < 1e-6 end
-- The first line that contains `text` (plain), after line `after`: its
-- index and line record.
function T.find(r, text, after)
  for i = (after or 0) + 1, #r.lines do
    if r.lines[i].text:find(text, 1, true) then return i, r.lines[i] end
  end
end
-- Runs fn(env, ...) (an async function) as main under virtual time, as a
-- separate scenario; returns its record.
function T.run(fn, ...)
  local args = pack(...)
  return run_program(function()
    return sandboxed_run(function() return asyncio.await(fn(env, unpack(args, 1, args.n))) end)
  end)
end

-- The checks every exercise gets first.
local function standard_checks()
  return {
    {en = "it runs main with asyncio.run", zh = "用 asyncio.run 运行 main", function(r)
      if not r.ran then
        if r.error then return T.msg("it stopped before asyncio.run: %s", "还没到 asyncio.run 就出错了：%s", r.error) end
        return T.msg("asyncio.run(main) is never called", "程序没有调用 asyncio.run(main)")
      end
    end},
    {en = "it ends without an error", zh = "运行结束，没有报错", function(r)
      if r.stopped then return T.msg("%s", "%s", r.error) end
      if r.error then return T.msg("it raised an error: %s", "运行时出错：%s", r.error) end
    end},
  }
end

if req.mode == "check" then
  local lesson = assert(host.load(req.lesson))()
  local ex = lesson.exercise
  local checks = standard_checks()
  for _, c in ipairs(ex.checks) do checks[#checks + 1] = c end
  result.checks = {}
  local failed = false
  for _, c in ipairs(checks) do
    local item = {name = tr(c)}
    if failed then
      item.skipped = true
    else
      local ok, msg = pcall(c[1], rec, T)
      if not ok then
        item.msg = "the check itself failed: " .. describe_error(msg)
        item.broken = true
      elseif msg ~= nil then
        item.msg = tr(msg)
      end
      item.ok = ok and msg == nil
      failed = not item.ok
    end
    result.checks[#result.checks + 1] = item
  end
end

rec.env, rec.values = nil, nil
for k, v in pairs(rec) do result[k] = v end
return concat(serialise(result, {}))
