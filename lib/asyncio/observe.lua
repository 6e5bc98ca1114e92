-- Observability (SPEC 9) in Lua over the C records of src/lua/observe/:
-- asyncio.ps() and print_ps(), the deadlock report's words, labels for the
-- waits the library composes (Condition, Barrier, TaskGroup, wait), the
-- timeline drawn from a recording, asyncio.trace and asyncio.timeline.
local M, I = ...

local records, task_record, gather_children = I.task_records, I.task_record, I.gather_children
local concat, format, rep = table.concat, string.format, string.rep
local type, pairs, ipairs, tostring, error, pcall, select = type, pairs, ipairs, tostring, error, pcall, select
local getmetatable, next = getmetatable, next

-- ----------------------------------------------------------------------
-- ps

local TaskMT = I.Task

local function istask(x) return getmetatable(x) == TaskMT end

-- The tasks behind an awaited future, in order: a task itself, a gather's
-- children (nested gathers too), nothing for other futures. `awaits` is a
-- list, or a set whose keys are tasks (a TaskGroup's).
local function add_tasks(out, seen, x)
  if seen[x] then return end
  seen[x] = true
  if istask(x) then
    out[#out + 1] = x
    return
  end
  local children = gather_children(x)
  if children then
    for i = 1, #children do add_tasks(out, seen, children[i]) end
  end
end

local function awaited_tasks(awaits)
  local out, seen = {}, {}
  if awaits == nil then return out end
  if #awaits > 0 then
    for i = 1, #awaits do add_tasks(out, seen, awaits[i]) end
  else
    local keys = {}
    for k in pairs(awaits) do keys[#keys + 1] = k end
    -- a set has no order: creation order reads best
    table.sort(keys, function(a, b)
      return (istask(a) and task_record(a).id or 0) < (istask(b) and task_record(b).id or 0)
    end)
    for i = 1, #keys do add_tasks(out, seen, keys[i]) end
  end
  return out
end

-- asyncio.ps([loop]): a record per unfinished task of the loop (the
-- running one, else the default one), in creation order: task, name, id,
-- state ("running", "ready" or "waiting"), where ("file:line" it is
-- suspended at; for a task not started yet, its function), and while
-- waiting: waits_for (what it waits on, in words), kind ("sleep",
-- "Queue.get", "Lock", ...), object (the queue, lock, future...), holder
-- (the Task holding a Lock it waits for), since (loop time it began to
-- wait), awaits (the tasks it waits for); awaited_by (the tasks waiting
-- for it); and while accounting is on (debug mode, a trace or a timeline
-- being recorded): steps, cpu and waited (seconds).
function M.ps(loop)
  local recs, now = records(loop)
  local by_task = {}
  for _, r in ipairs(recs) do
    by_task[r.task] = r
    r.awaited_by = {}
    if r.text then
      r.waits_for, r.text = r.text, nil
    end
  end
  for _, r in ipairs(recs) do
    if r.awaits then
      r.awaits = awaited_tasks(r.awaits)
      for _, t in ipairs(r.awaits) do
        local c = by_task[t]
        if c then c.awaited_by[#c.awaited_by + 1] = r.task end
      end
    end
  end
  return recs, now
end

local function seconds(x) return format("%.3f", x) end

-- One line of the tree for record r.
local function describe(r)
  local parts = {format("Task '%s'", r.name or ("Task-" .. tostring(r.id)))}
  if r.where then parts[#parts + 1] = "at " .. r.where end
  if r.error then
    parts[#parts + 1] = "(cannot describe: " .. tostring(r.error) .. ")"
  elseif r.state == "waiting" then
    parts[#parts + 1] = "waiting for " .. r.waits_for
    parts[#parts + 1] = "since " .. seconds(r.since)
  else
    parts[#parts + 1] = r.state
  end
  local line = concat(parts, " ")
  if r.steps then
    line = line .. format(" [steps=%d cpu=%.3fms waited=%.3fs]", r.steps, r.cpu * 1e3, r.waited)
  end
  return line
end

-- The tree of records as lines: each task under the task that awaits it
-- (the first one, when several do), roots in creation order.
local function tree_lines(recs)
  local by_task, children = {}, {}
  for _, r in ipairs(recs) do by_task[r.task] = r end
  local has_parent = {}
  for _, r in ipairs(recs) do
    for _, t in ipairs(r.awaits or {}) do
      local c = by_task[t]
      if c and not has_parent[c] and c ~= r then
        has_parent[c] = r
        children[r] = children[r] or {}
        children[r][#children[r] + 1] = c
      end
    end
  end
  local lines, shown = {}, {}
  local function walk(r, prefix, last, root)
    local head = root and "" or prefix .. (last and "└── " or "├── ")
    if shown[r] then
      lines[#lines + 1] = head .. format("Task '%s' (shown above)", r.name)
      return
    end
    shown[r] = true
    lines[#lines + 1] = head .. describe(r)
    local kids = children[r] or {}
    local sub = root and "" or prefix .. (last and "    " or "│   ")
    for i, c in ipairs(kids) do walk(c, sub, i == #kids, false) end
  end
  for _, r in ipairs(recs) do
    if not has_parent[r] then walk(r, "", true, true) end
  end
  -- tasks that await each other in a cycle have no root: start anywhere
  for _, r in ipairs(recs) do
    if not shown[r] then walk(r, "", true, true) end
  end
  return lines
end

-- The task tree as text (no trailing newline).
local function format_ps(loop)
  local recs, now = M.ps(loop)
  if #recs == 0 then return format("No tasks (loop time %s).", seconds(now)) end
  local lines = tree_lines(recs)
  table.insert(lines, 1, format("%d task%s at loop time %s:", #recs, #recs == 1 and "" or "s", seconds(now)))
  return concat(lines, "\n")
end
M.format_ps = format_ps

-- asyncio.print_ps([loop [, file]]): writes the task tree to file (default
-- io.stdout).
function M.print_ps(loop, file)
  file = file or io.stdout
  file:write(format_ps(loop), "\n")
  file:flush()
end

-- Ctrl+\: the tree on stderr.
function I.dump_tasks()
  local ok, text = pcall(format_ps)
  io.stderr:write(ok and text or ("cannot list the tasks: " .. tostring(text)), "\n")
  io.stderr:flush()
end

-- ----------------------------------------------------------------------
-- the deadlock report

-- Lines explaining why record r can never be woken, following what it
-- waits for (the holder of a lock, the tasks it awaits) to its end.
local function explain(r, by_task, lines, seen)
  if seen[r] then return end
  seen[r] = true
  if r.state ~= "waiting" then
    lines[#lines + 1] = format("Task '%s' is %s", r.name, r.state)
    return
  end
  local line = format("Task '%s' waits for %s", r.name, r.waits_for)
  local next_recs = {}
  if r.holder then
    local h = by_task[r.holder]
    if h then next_recs[1] = h end
  elseif r.awaits and #r.awaits > 0 then
    for _, t in ipairs(r.awaits) do
      local c = by_task[t]
      if c then next_recs[#next_recs + 1] = c end
    end
  end
  if #next_recs == 0 then line = line .. (r.never or ", which nothing will ever end") end
  lines[#lines + 1] = line
  for _, c in ipairs(next_recs) do explain(c, by_task, lines, seen) end
end

-- internals.deadlock_report(fut): the text the loop raises when nothing
-- can complete fut (nil: when tasks are left at the program's end that
-- nothing can wake).
function I.deadlock_report(fut)
  local recs, now = M.ps()
  local by_task = {}
  for _, r in ipairs(recs) do by_task[r.task] = r end
  local lines, seen = {}, {}
  local head
  if fut ~= nil and by_task[fut] then
    head = "deadlock: nothing can ever wake what the main task waits for:"
    explain(by_task[fut], by_task, lines, seen)
  elseif fut ~= nil then
    head = "deadlock: nothing can ever complete the awaited future " .. tostring(fut)
  else
    head = format("deadlock: %d task%s still waiting, and nothing can ever wake %s:", #recs,
      #recs == 1 and " is" or "s are", #recs == 1 and "it" or "them")
    -- from the tasks nobody awaits (the roots of the tree)
    for _, r in ipairs(recs) do
      if #r.awaited_by == 0 then explain(r, by_task, lines, seen) end
    end
    for _, r in ipairs(recs) do explain(r, by_task, lines, seen) end
  end
  for i = 1, #lines do lines[i] = "  " .. lines[i] end
  local out = {head}
  if #lines > 0 then out[2] = concat(lines, "\n") end
  if #recs > 0 then
    out[#out + 1] = format("%d task%s at loop time %s:", #recs, #recs == 1 and "" or "s", seconds(now))
    local tree = tree_lines(recs)
    for i = 1, #tree do tree[i] = "  " .. tree[i] end
    out[#out + 1] = concat(tree, "\n")
  end
  return concat(out, "\n")
end

-- ----------------------------------------------------------------------
-- labels for the waits the library composes

-- internals.label(fut, kind, object [, never [, awaits]]): tasks awaiting fut
-- are reported as waiting for kind (on object).
function I.label(fut, kind, object, never, awaits)
  I.label_future(fut, {kind = kind, object = object, never = never, awaits = awaits})
end

-- A callback as the trace names it: "function <file:line>".
function I.handle_label(h)
  local s = tostring(h)
  return (s:gsub("^<%a+ ", ""):gsub("^cancelled ", ""):gsub("^when=%S+ ", ""):gsub(">$", ""))
end

-- ----------------------------------------------------------------------
-- the timeline

-- Glyphs by what a task waits for.
local RUN = "█"
local glyphs = {
  {name = "sleep", glyph = "░", kinds = {sleep = true}},
  {name = "awaiting another task", glyph = "─",
    kinds = {future = true, gather = true, Future = true, TaskGroup = true, wait = true,
      as_completed = true, ["wait_for"] = true}},
  {name = "Lock, Event, Queue...", glyph = "▒",
    kinds = {Lock = true, Semaphore = true, Event = true, Condition = true, Barrier = true,
      ["Queue.get"] = true, ["Queue.put"] = true, ["Queue.join"] = true}},
}
local OTHER = {name = "I/O, process, thread", glyph = "▓"}

local function category(kind)
  for _, g in ipairs(glyphs) do
    if g.kinds[kind] then return g end
  end
  return OTHER
end

-- Display width of a UTF-8 string (one column per code point).
local function width(s) return utf8.len(s) or #s end

local function fit(s, w)
  if width(s) <= w then return s .. rep(" ", w - width(s)) end
  return s:sub(1, utf8.offset(s, w) - 1) .. "…"
end

local function fmt_time(t)
  local s = format("%.3f", t):gsub("0+$", ""):gsub("%.$", "")
  return s .. "s"
end

-- Tick spacing: 1, 2 or 5 times a power of ten, at most `most` ticks.
local function tick_step(span, most)
  local step = 10 ^ math.floor(math.log(span / math.max(most, 1), 10))
  for _, m in ipairs({1, 2, 5, 10, 20, 50}) do
    if span / (step * m) <= most then return step * m end
  end
  return span
end

-- Draws the data of a recording (recording:data()) as text `columns` wide;
-- `keep(track)` picks the rows (nil: every task).
local function draw(d, columns, keep)
  local tracks, slices = d.tracks, d.slices
  local rows = {}
  for i, k in ipairs(tracks) do
    if not keep or keep(k) then
      rows[#rows + 1] = {track = i, name = k.name, ended = k.ended, slices = {}}
    end
  end
  local by_track = {}
  for _, r in ipairs(rows) do by_track[r.track] = r end
  local callbacks = {track = 0, name = "(callbacks)", ended = true, slices = {}}
  local origin
  for _, s in ipairs(slices) do
    local r = s.track == 0 and callbacks or by_track[s.track]
    if r then
      r.slices[#r.slices + 1] = s
      if not origin or s.l0 < origin then origin = s.l0 end
    end
  end
  if #callbacks.slices > 0 then rows[#rows + 1] = callbacks end
  if #rows == 0 then return "(no tasks ran)" end
  origin = origin or d.origin
  local finish = origin
  for _, r in ipairs(rows) do
    for _, s in ipairs(r.slices) do
      if s.l1 > finish then finish = s.l1 end
    end
  end
  local span = finish - origin
  -- columns: name, a space, the chart, then the outcome of tasks that did
  -- not simply finish
  local namew = 4
  for _, r in ipairs(rows) do namew = math.max(namew, width(r.name)) end
  namew = math.min(namew, 16)
  local suffix = {}
  local sufw = 0
  for _, r in ipairs(rows) do
    local last = r.slices[#r.slices]
    local outcome = last and last.after
    if r.track ~= 0 and not r.ended then outcome = "unfinished" end
    if outcome == "done" or r.track == 0 then outcome = nil end
    if outcome == "waiting" or outcome == "ready" then outcome = "unfinished" end
    suffix[r] = outcome
    if outcome then sufw = math.max(sufw, width(outcome) + 1) end
  end
  local chart = math.max(columns - namew - 1 - sufw, 10)
  local function col(t)
    if span <= 0 then return 1 end
    return math.floor((t - origin) / span * (chart - 1) + 0.5) + 1
  end
  local used = {}
  local lines = {}
  -- the time axis: labels at round times that do not collide
  local axis = {}
  -- a label may run past the chart, up to the line's end
  local room = math.max(columns - namew - 1, chart)
  for i = 1, room do axis[i] = " " end
  if span > 0 then
    local step = tick_step(span, math.max(1, chart // 8))
    local nextfree = 1
    local n = 0
    while n * step <= span + step * 1e-9 do
      local label = fmt_time(n * step)
      local c = col(origin + n * step)
      -- at the right edge, the label ends at its tick instead
      if c + width(label) - 1 > room then c = c - width(label) + 1 end
      if c >= nextfree then
        local i = 0
        for _, ch in utf8.codes(label) do
          axis[c + i] = utf8.char(ch)
          i = i + 1
        end
        nextfree = c + width(label) + 1
      end
      n = n + 1
    end
  else
    axis[1] = "0s"
  end
  lines[1] = (rep(" ", namew + 1) .. concat(axis)):gsub("%s+$", "")
  for _, r in ipairs(rows) do
    local cells = {}
    for i = 1, chart do cells[i] = " " end
    local ss = r.slices
    for i, s in ipairs(ss) do
      for c = col(s.l0), col(s.l1) do cells[c] = RUN end
      if s.after == "waiting" then
        local g = category(s.kind)
        used[g] = true
        local stop = ss[i + 1] and col(ss[i + 1].l0) - 1 or chart
        for c = col(s.l1) + 1, stop do
          if cells[c] == " " then cells[c] = g.glyph end
        end
      end
    end
    local line = fit(r.name, namew) .. " " .. concat(cells)
    if suffix[r] then
      line = line .. " " .. suffix[r]
    end
    lines[#lines + 1] = line:gsub("%s+$", "")
  end
  local legend = {RUN .. " running"}
  for _, g in ipairs(glyphs) do
    if used[g] then legend[#legend + 1] = g.glyph .. " " .. g.name end
  end
  if used[OTHER] then legend[#legend + 1] = OTHER.glyph .. " " .. OTHER.name end
  -- the legend, wrapped to the width
  local line = rep(" ", namew + 1) .. legend[1]
  for i = 2, #legend do
    if width(line) + 2 + width(legend[i]) > columns then
      lines[#lines + 1] = line
      line = rep(" ", namew + 1) .. legend[i]
    else
      line = line .. "  " .. legend[i]
    end
  end
  lines[#lines + 1] = line
  return concat(lines, "\n")
end
I.draw_timeline = draw

-- Splits a trailing option table made only of the keys in `known`.
local function split_options(known, ...)
  local n = select("#", ...)
  local last = n > 0 and select(n, ...) or nil
  if type(last) == "table" and getmetatable(last) == nil and next(last) ~= nil then
    for k in pairs(last) do
      if not known[k] then return n, nil end
    end
    return n - 1, last
  end
  return n, nil
end

local function pack(...) return {n = select("#", ...), ...} end

-- asyncio.timeline(fn, ... [, {width = n}]): runs fn(...), records every
-- task that runs meanwhile, and returns the timeline as text, then fn's
-- results. Outside a running loop, an async function or a coroutine object
-- runs as the task 'main' of a fresh loop on virtual time; a plain
-- function is called as it is (a whole program, which may call
-- asyncio.run), with every loop it creates on virtual time. Either way the
-- timeline is exact and instant. From inside a task, fn runs as the task
-- 'main' on the current loop, whose clock the timeline then shows. width:
-- the text's width (default: COLUMNS, else the terminal's, else 80).
function M.timeline(fn, ...)
  local n, opts = split_options({width = true}, ...)
  local args = pack(...)
  args.n = n
  local columns = opts and opts.width or I.terminal_width()
  if math.type(columns) ~= "integer" or columns < 20 then
    error("bad option 'width' to 'timeline' (integer >= 20 expected)", 2)
  end
  if type(fn) ~= "function" and not M.iscoroutine(fn) then
    error("bad argument #1 to 'timeline' (function or coroutine object expected, got " .. type(fn) .. ")", 2)
  end
  if I.recording() then error("timeline: a trace or timeline is already being recorded", 2) end
  local function create(loop)
    if M.iscoroutine(fn) then return loop:create_task(fn, {name = "main"}) end
    local a = {table.unpack(args, 1, args.n)}
    a[args.n + 1] = {name = "main"}
    return loop:create_task(fn, table.unpack(a, 1, args.n + 1))
  end
  if I.running_loop() then
    if not I.intask() then error("timeline: call it from a task, or outside the event loop", 2) end
    local loop = M.get_running_loop()
    local rec = I.record_start()
    local main = create(loop)
    local first = main:get_name() and I.task_record(main).id
    local results = pack(pcall(M.await, main))
    I.record_stop()
    if not results[1] then error(results[2], 0) end
    local text = draw(rec:data(), columns, function(k) return k.id >= first end)
    return text, table.unpack(results, 2, results.n)
  end
  if not M.iscoroutine(fn) and not M.iscoroutinefunction(fn) then
    local was = I.default_virtual_time(true)
    local rec = I.record_start()
    local results = pack(pcall(fn, table.unpack(args, 1, args.n)))
    I.record_stop()
    I.default_virtual_time(was)
    if not results[1] then error(results[2], 0) end
    return draw(rec:data(), columns), table.unpack(results, 2, results.n)
  end
  -- a fresh loop on virtual time, whose leftovers are cancelled and which is
  -- closed after the recording, as asyncio.run's is
  if not M.iscoroutine(fn) then fn = fn(table.unpack(args, 1, args.n)) end
  local runner = M.Runner({virtual_time = true})
  local rec = I.record_start()
  local results = pack(pcall(I.run_named, runner, fn, "main"))
  I.record_stop()
  runner:close()
  if not results[1] then error(results[2], 0) end
  return draw(rec:data(), columns), table.unpack(results, 2, results.n)
end

-- ----------------------------------------------------------------------
-- traces

local trace = {}
M.trace = trace
local trace_path

-- asyncio.trace.start([path]): records every task step, wait and wake-up
-- of every loop from now on. With a path, trace.stop() writes them there
-- as a trace; without one, trace.stop() returns the timeline of what was
-- recorded (what alua --timeline prints).
local trace_timeline
function trace.start(path)
  if path ~= nil and type(path) ~= "string" then
    error("bad argument #1 to 'start' (string or nil expected, got " .. type(path) .. ")", 2)
  end
  if I.recording() then error("trace.start: a trace or timeline is already being recorded", 2) end
  I.record_start()
  trace_path, trace_timeline = path, path == nil
end

-- asyncio.trace.stop([width]): stops recording. A trace started with a
-- path is written there as Chrome trace-event JSON (it opens in Perfetto
-- and chrome://tracing) and its path returned; otherwise the timeline is
-- returned as text, width columns wide (default: the terminal's).
function trace.stop(width)
  if not trace_path and not trace_timeline then error("trace.stop: no trace is being recorded", 2) end
  if width ~= nil and (math.type(width) ~= "integer" or width < 20) then
    error("bad argument #1 to 'stop' (integer >= 20 expected)", 2)
  end
  local rec = I.record_stop()
  local path = trace_path
  trace_path, trace_timeline = nil, nil
  if not path then return draw(rec:data(), width or I.terminal_width()) end
  rec:write_trace(path, "alua " .. (arg and arg[0] or ""))
  return path
end

-- asyncio.trace.is_recording(): true between trace.start and trace.stop.
function trace.is_recording() return trace_path ~= nil or trace_timeline == true end
