#!/usr/bin/env python3
"""REPL tests: alua's prompt driven through a pseudo-terminal.

    repl_cases.py ALUA CASE

Each case is a function below; meson registers one test per case (suite
'repl'). Background tasks that must print at a chosen moment wait for a file
the test creates, so no test depends on how fast the machine is.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ptydriver import Session  # noqa: E402

ALUA = None
TMP = None


def start(*args, env=None):
    e = {"ALUA_HISTORY": os.path.join(TMP, "history")}
    if env:
        e.update(env)
    s = Session([ALUA] + list(args), env=e, cwd=TMP)
    return s


SANITIZER_MARKS = ("runtime error:", "AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer")


def check_clean(text):
    """Fails on a sanitizer report (an instrumented build prints them)."""
    for mark in SANITIZER_MARKS:
        assert mark not in text, "sanitizer report:\n" + text[-4000:]


def trigger_path(name):
    return os.path.join(TMP, name)


def lua_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wait_file_expr(path):
    """Lua that waits (in a task) until the file at path exists."""
    return "while not io.open(%s) do await asyncio.sleep(0.02) end" % lua_str(path)


def touch(path):
    with open(path, "w") as f:
        f.write("go\n")


# ------------------------------------------------------------------ cases

def case_await(s):
    """Top-level await, values of expressions, asyncio.run at the prompt."""
    s.prompt()
    m = s.mark()
    s.send('await asyncio.sleep(0.05, "slept")\n')
    s.expect("slept\n", after=m)
    s.prompt()
    m = s.mark()
    s.send("1, 2, nil\n")
    s.expect("1\t2\tnil\n", after=m)
    s.prompt()
    m = s.mark()
    s.send("=40 + 2\n")
    s.expect("42\n", after=m)
    s.prompt()
    m = s.mark()
    s.send("r = await asyncio.gather(asyncio.sleep(0.02, 'a'), asyncio.sleep(0.01, 'b')); print(r[1] .. r[2])\n")
    s.expect("ab\n", after=m)
    s.prompt()
    m = s.mark()
    s.send("asyncio.run(async function() await asyncio.sleep(0.01) return 'ran', 7 end)\n")
    s.expect("ran\t7\n", after=m)
    s.prompt()
    m = s.mark()
    s.send("t = asyncio.create_task(function() return 6 end, {name = 'six'}); print(t)\n")
    s.expect("<Task pending name='six'", after=m)
    s.prompt()
    m = s.mark()
    s.send("await t, t\n")
    s.expect("6\t<Task finished name='six' result=6>\n", after=m)
    s.prompt()
    m = s.mark()
    s.send('error("boom")\n')
    s.expect("stdin:1: boom\nstack traceback:\n", after=m)
    s.prompt()
    m = s.mark()
    s.send("local x = 1 +\n")
    s.expect(">> ", after=m)
    s.send("\n2 print(x)\n")   # an empty line inside a statement is part of it
    s.expect("3\n", after=m)
    s.prompt()
    m = s.mark()
    s.send("x = = 1\n")
    s.expect("stdin:1: unexpected symbol near '='", after=m)
    s.prompt()


def case_background(s):
    """A background task prints while the user is typing: its line appears
    above the prompt, and the half-typed line is intact and still editable."""
    go = trigger_path("go")
    s.prompt()
    m = s.mark()
    s.send("asyncio.create_task(function() %s print('tick from background') end)\n" % wait_file_expr(go))
    s.expect("<Task pending", after=m)
    s.prompt()
    s.send("y_partial = 4")
    s.expect_screen(lambda sc: sc.cursor_line() == "> y_partial = 4", what="the partial line")
    touch(go)
    s.expect_screen(lambda sc: "tick from background" in sc.text_lines(), what="the task's line")
    s.expect_screen(lambda sc: sc.cursor_line() == "> y_partial = 4" and sc.col == len("> y_partial = 4"),
                    what="the prompt and partial line redrawn below the output")
    lines = s.screen.text_lines()
    assert lines.index("tick from background") < len(lines) - 1, lines
    assert not any("tick" in l and "partial" in l for l in lines), lines
    s.send("2\n")
    s.prompt()
    m = s.mark()
    s.send("=y_partial\n")
    s.expect("42\n", after=m)
    s.prompt()
    # output without a newline at the end still leaves the prompt on its own line
    go2 = trigger_path("go2")
    m = s.mark()
    s.send("asyncio.create_task(function() %s io.write('no newline') end)\n" % wait_file_expr(go2))
    s.expect("<Task pending", after=m)
    s.prompt()
    s.send("z")
    s.expect_screen(lambda sc: sc.cursor_line() == "> z", what="'> z'")
    touch(go2)
    s.expect_screen(lambda sc: "no newline" in sc.text_lines() and sc.cursor_line() == "> z",
                    what="'no newline' on its own line, then '> z'")
    assert s.screen.text_lines()[-2:] == ["no newline", "> z"], s.screen.text_lines()
    s.send("\x15")


def case_multiline(s):
    """A function definition over several lines, with the continuation
    prompt, then called."""
    s.prompt()
    s.send("function double(a)\n")
    s.expect_screen(lambda sc: sc.cursor_line() == ">>", what="the '>> ' prompt")
    s.send("  local b = a * 2\n")
    s.expect_screen(lambda sc: sc.cursor_line() == ">>" and sc.text_lines()[-2] == ">>   local b = a * 2",
                    what="a second continuation line")
    s.send("  return b\n")
    s.expect_screen(lambda sc: sc.cursor_line() == ">>" and sc.text_lines()[-2] == ">>   return b",
                    what="a third continuation line")
    s.send("end\n")
    s.prompt()
    m = s.mark()
    s.send("=double(21)\n")
    s.expect("42\n", after=m)
    s.prompt()
    m = s.mark()
    s.send("async function later(v)\n  await asyncio.sleep(0.01)\n  return v\nend\n")
    s.prompt()
    s.send("await later('async body')\n")
    s.expect("async body\n", after=m)
    s.prompt()


def case_completion(s):
    """Tab completes globals, module fields and methods (through __index)."""
    s.prompt()
    s.send("asyncio.create_ta\t")
    s.expect_screen(lambda sc: sc.cursor_line() == "> asyncio.create_task", what="asyncio.create_task")
    s.send("\x15")   # Ctrl+U: kill the line
    s.expect_screen(lambda sc: sc.cursor_line() == ">", what="an empty line")
    s.send("asyncio.cr\t")
    s.expect_screen(lambda sc: sc.cursor_line().startswith("> asyncio.create_"), what="asyncio.create_")
    # an ambiguous Tab rings the bell; more Tabs list the candidates below
    # the line, which readline draws once more: no stray copies of it
    s.send("\t")
    time.sleep(0.2)
    s.send("\t")
    listing = "asyncio.create_subprocess_exec   asyncio.create_subprocess_shell  asyncio.create_task"
    s.expect_screen(lambda sc: any(l.startswith(listing) for l in sc.text_lines())
                    and sc.cursor_line() == "> asyncio.create_", what="the candidates, then the line again")
    lines = s.screen.text_lines()
    at = [i for i, l in enumerate(lines) if l.startswith(listing)][0]
    assert lines[at - 1:] == ["> asyncio.create_", lines[at], "> asyncio.create_"], lines
    assert sum(1 for l in lines if l == "> asyncio.create_") == 2, lines
    s.send("\x15")
    s.expect_screen(lambda sc: sc.cursor_line() == ">", what="an empty line")
    s.send("q = asyncio.Queue()\n")
    s.prompt()
    s.send("q:put_no\t")
    s.expect_screen(lambda sc: sc.cursor_line() == "> q:put_nowait", what="q:put_nowait")
    s.send("(5)\n")
    s.prompt()
    s.send("q:g\t")
    s.expect_screen(lambda sc: sc.cursor_line() == "> q:get", what="q:get")
    m = s.mark()
    s.send("_nowait()\n")
    s.expect("5\n", after=m)
    s.prompt()
    s.send("string.for\t")
    s.expect_screen(lambda sc: sc.cursor_line() == "> string.format", what="string.format")
    s.send("\x15")
    s.expect_screen(lambda sc: sc.cursor_line() == ">", what="an empty line")
    s.send("my_global_value = {inner = {leaf = 1}}\n")
    s.prompt()
    s.send("my_glo\t")
    s.expect_screen(lambda sc: sc.cursor_line() == "> my_global_value", what="my_global_value")
    s.send(".inn\t")
    s.expect_screen(lambda sc: sc.cursor_line() == "> my_global_value.inner", what="my_global_value.inner")
    s.send(".le\t")
    s.expect_screen(lambda sc: sc.cursor_line() == "> my_global_value.inner.leaf", what="...leaf")
    m = s.mark()
    s.send("\n")
    s.expect("1\n", after=m)
    s.prompt()


def case_interrupt(s):
    """Ctrl+C cancels the running statement (an await, then a loop that
    never yields) and the session goes on; background tasks keep running."""
    go = trigger_path("go")
    s.prompt()
    m = s.mark()
    s.send("bg = asyncio.create_task(function() %s return 'bg survived' end)\n" % wait_file_expr(go))
    s.prompt()
    m = s.mark()
    s.send("print('sleeping') await asyncio.sleep(60) print('not reached')\n")
    s.expect("sleeping\n", after=m)
    t0 = time.monotonic()
    s.send("\x03")
    s.expect("KeyboardInterrupt\n", after=m)
    s.prompt()
    assert time.monotonic() - t0 < 30, "Ctrl+C did not cut the sleep short"
    assert "\nnot reached\n" not in s.plain()[m:]
    m = s.mark()
    s.send("print('spinning') while true do end\n")
    s.expect("spinning\n", after=m)
    s.send("\x03")
    s.expect("KeyboardInterrupt\n", after=m)
    s.prompt()
    m = s.mark()
    s.send("=bg:done()\n")
    s.expect("false\n", after=m)
    s.prompt()
    touch(go)
    m = s.mark()
    s.send("=await bg\n")
    s.expect("bg survived\n", after=m)
    s.prompt()
    # a background task that never yields: a second Ctrl+C stops it there
    go2 = trigger_path("go2")
    s.send("asyncio.create_task(function() %s print('spinning in the background') while true do end end)\n"
           % wait_file_expr(go2))
    s.prompt()
    m = s.mark()
    touch(go2)
    s.expect("spinning in the background\n", after=m)
    message = "KeyboardInterrupt: stopped a task that never yielded\n"
    deadline = time.monotonic() + 30
    while message not in s.plain()[m:]:   # signals sent close together may merge into one
        assert time.monotonic() < deadline, "the spinning task was not stopped"
        s.send("\x03")
        try:
            s.expect(message, timeout=1, after=m)
        except AssertionError:
            pass
    s.prompt()
    m = s.mark()
    s.send("=2 * 21\n")
    s.expect("42\n", after=m)
    s.prompt()
    # Ctrl+C at the prompt drops the partial line, and a pending statement
    s.send("this is not lua")
    s.expect_screen(lambda sc: sc.cursor_line() == "> this is not lua", what="the partial line")
    s.send("\x03")
    s.prompt()
    s.send("for i = 1, 3 do\n")
    s.expect_screen(lambda sc: sc.cursor_line() == ">>", what="'>> '")
    s.send("\x03")
    s.prompt()
    m = s.mark()
    s.send("=1 + 2\n")
    s.expect("3\n", after=m)
    s.prompt()


def case_banner(s):
    """The banner: alua's version, Lua's copyright line (as lua5.4 -v has
    it), and how to get help and start the tutorial."""
    s.prompt()
    text = s.plain()
    assert text.startswith("alua 0.1.0"), text
    assert "Copyright (C) 1994-" in text and "Lua.org, PUC-Rio" in text, text
    assert "Type help for what asyncio offers" in text, text
    assert "alua --tutorial" in text, text
    # the prompts come from _PROMPT and _PROMPT2, as in lua5.4
    s.send("_PROMPT = 'alua> ' _PROMPT2 = setmetatable({}, {__tostring = function() return '...> ' end})\n")
    s.expect_screen(lambda sc: sc.cursor_line() == "alua>", what="the 'alua> ' prompt")
    s.send("for i = 1, 2 do\n")
    s.expect_screen(lambda sc: sc.cursor_line() == "...>", what="the '...> ' prompt")
    s.send("end\n")
    s.expect_screen(lambda sc: sc.cursor_line() == "alua>", what="the 'alua> ' prompt again")
    s.send("_PROMPT, _PROMPT2 = nil\n")
    s.prompt()


def case_values(s):
    """Values print as Node's inspect shows them: tables as constructors,
    depth-limited, cycles marked, keys sorted; strings as they are."""
    def show(stmt, *want):
        s.prompt()
        m = s.mark()
        s.send(stmt + "\n")
        for w in want:
            m = s.expect(w, after=m)
    show("t = {1, 2, name = 'x', [10] = true, ['a b'] = 1, k10 = 1, k9 = 2}")
    show("t", '{ 1, 2, [10] = true, ["a b"] = 1, k9 = 2, k10 = 1, name = "x" }\n')
    show("t.self = t; t[10] = nil; t['a b'] = nil; t.k9 = nil; t.k10 = nil")
    show("t", '<ref *1> { 1, 2, name = "x", self = [Circular *1] }\n')
    show("{a = {b = {c = {d = {e = 1}}}}}", "{ a = { b = { c = { d = {...} } } } }\n")
    show("'a string', {'a\\nb', 1.5}, nil", 'a string\t{ "a\\nb", 1.5 }\tnil\n')
    show("setmetatable({x = 1}, {__name = 'Point'})", "Point { x = 1 }\n")
    show("setmetatable({}, {__tostring = function() return 'custom' end})", "custom\n")
    show("setmetatable({}, {__tostring = function() error('bad') end})", "table: 0x")
    show("asyncio.Queue(3)", "<Queue maxsize=3 qsize=0>\n")
    show("{string.rep('x', 250)}", '"' + "x" * 200 + '"... (50 more bytes)')
    # a long table: one entry per line, indented; short array items in columns
    show("{alpha = string.rep('a', 30), beta = string.rep('b', 30), gamma = {1, 2}}",
         '{\n  alpha = "' + "a" * 30 + '",\n  beta = "' + "b" * 30 + '",\n  gamma = { 1, 2 },\n}\n')
    show("r = {} for i = 1, 120 do r[i] = i end")
    show("r", "{\n  1,   2,   3,", "  ... (20 more),\n}\n")
    # through the program's own print, as lua5.4 does
    show("print = function(...) io.write('P:', table.concat({...}, '|'), '\\n') end")
    show("{1}, 2", "P:{ 1 }|2\n")
    s.prompt()


def case_help(s):
    """help lists what asyncio offers, one line each; help(f) shows one
    entry, for functions, methods, objects and names."""
    s.prompt()
    m = s.mark()
    s.send("help\n")
    m = s.expect("What asyncio offers", after=m)
    s.expect("Loading code\n  asyncio.load(", after=m)
    s.prompt()
    listing = s.plain()[m:]
    for line in ("  asyncio.sleep(delay, ...)", "  asyncio.gather(aw1, aw2, ...", "  loop:call_soon(fn, ...)",
                 "  asyncio.Queue([maxsize])"):
        assert "\n" + line in listing, (line, listing)
    for line in listing.splitlines():
        assert len(line) < 200, line   # one screen line each
    m = s.mark()
    s.send("help(asyncio.sleep)\n")
    s.expect("asyncio.sleep(delay, ...)    [sleep and gather]\n  an awaitable that returns ... after delay", after=m)
    s.prompt()
    entry = s.plain()[m:]
    assert entry.count("    [") == 1, entry   # one entry
    m = s.mark()
    s.send("q = asyncio.Queue() help(q.put)\n")
    s.expect("asyncio.Queue([maxsize])", after=m)
    s.prompt()
    m = s.mark()
    s.send("help(asyncio.get_event_loop().call_later)\n")
    s.expect("loop:call_soon(fn, ...), loop:call_later(delay, fn, ...)", after=m)
    s.prompt()
    m = s.mark()
    s.send("help('gather')\n")
    s.expect("asyncio.gather(aw1, aw2", after=m)
    s.prompt()
    m = s.mark()
    s.send("help(print)\n")
    s.expect("no help for function", after=m)
    s.prompt()


def case_help_complete(s):
    """Every function and class asyncio offers has a help entry (the
    reference docs/api.md documents it)."""
    code = ("for k, v in pairs(asyncio) do if type(v) == 'function' or type(v) == 'table' then "
            "io.write('== ', k, '\\n') help(v) end end\n")
    p = subprocess.run([ALUA, "-i"], input=code.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60, cwd=TMP)
    out = p.stdout.decode()
    check_clean(p.stderr.decode())
    assert p.returncode == 0 and out.count("== ") > 60, out
    missing = [chunk.split("\n")[0] for chunk in out.split("== ")[1:] if "no help for" in chunk]
    assert not missing, "asyncio members without an entry in docs/api.md: %s" % ", ".join(missing)


def case_history(s):
    """Statements go to $ALUA_HISTORY as they are entered; a new session
    recalls them with the Up arrow."""
    hist = os.path.join(TMP, "history")
    s.prompt()
    s.send("hist_value = 40\n")
    s.prompt()
    s.send("=hist_value + 2\n")
    s.prompt()
    s.send("function twice(v)\n  return v * 2\nend\n")
    s.prompt()
    deadline = time.monotonic() + 15
    while True:
        text = open(hist).read() if os.path.exists(hist) else ""
        if "hist_value = 40" in text and "=hist_value + 2" in text and "  return v * 2" in text:
            break
        assert time.monotonic() < deadline, "history file lacks the statements:\n" + text
        time.sleep(0.05)
    s.send("\x04")
    assert s.wait_exit() == 0
    s2 = start()
    try:
        s2.prompt()
        s2.send("\x1b[A")   # Up: the multi-line function, as one entry
        s2.expect_screen(lambda sc: "end" in sc.cursor_line(), what="the recalled function")
        s2.send("\n")
        s2.prompt()
        s2.send("\x1b[A\x1b[A\x1b[A")   # Up x3 past the definition just run: hist_value = 40
        s2.expect_screen(lambda sc: sc.cursor_line() == "> hist_value = 40", what="'hist_value = 40' recalled")
        s2.send("\n")
        s2.prompt()
        m = s2.mark()
        s2.send("=twice(hist_value)\n")
        s2.expect("80\n", after=m)
        s2.prompt()
        s2.send("\x04")
        assert s2.wait_exit() == 0
        check_clean(s2.output)
    finally:
        s2.close()


def case_script(s):
    """alua -i script: the script's globals are there and the tasks it
    started keep running under the prompt."""
    s.expect("alua")   # version line (-i implies -v)
    s.prompt()
    m = s.mark()
    s.send("=greeting\n")
    s.expect("hello from the script\n", after=m)
    s.prompt()
    m = s.mark()
    s.send("=script_task:done(), ticks > 0\n")
    s.expect("false\ttrue\n", after=m)
    s.prompt()
    touch(trigger_path("go"))
    s.expect("script task done\n")
    s.prompt()
    m = s.mark()
    s.send("=await script_task\n")
    s.expect("finished\n", after=m)
    s.prompt()


SCRIPT = """
greeting = "hello from the script"
ticks = 0
script_task = asyncio.create_task(function()
  while not io.open(%s) do ticks = ticks + 1 await asyncio.sleep(0.02) end
  print("script task done")
  return "finished"
end)
await asyncio.sleep(0.05)
"""


def case_eof(s):
    """Ctrl+D at an empty prompt leaves: the remaining tasks are cancelled
    and their cleanup runs before exit."""
    s.prompt()
    s.send("t = asyncio.create_task(function() local ok, e = pcall(asyncio.await, asyncio.sleep(60)) "
           "print('cleanup: ' .. tostring(e)) end)\n")
    s.prompt()
    s.send("await asyncio.sleep(0.05)\n")   # the task has started and sleeps
    s.prompt()
    s.send("half typed")
    s.expect_screen(lambda sc: sc.cursor_line() == "> half typed", what="the partial line")
    s.send("\x04")   # not at an empty line: deletes nothing, leaves nothing
    s.send("\x15")
    s.prompt()
    t0 = time.monotonic()
    s.send("\x04")
    s.expect("cleanup: CancelledError")
    assert s.wait_exit() == 0
    assert time.monotonic() - t0 < 30


def case_pipe(s):
    """Without a terminal: `alua -i` reads statement by statement and, as
    lua5.4 does, writes each prompt and the line it read; errors come
    without the program's name; `alua < file` runs stdin as one chunk."""
    src = ("x = 20\n"
           "function f()\n  return x * 2\nend\n"
           "=f()\n"
           "1, 'two'\n"
           "t = asyncio.create_task(function() await asyncio.sleep(0.01) return 'task' end)\n"
           "await t\n"
           "error('boom')\n"
           "print('after error')\n"
           "asyncio.create_task(function() local ok, e = pcall(asyncio.await, asyncio.sleep(60)) print('cleanup') end)\n"
           "await asyncio.sleep(0.01)\n")
    p = subprocess.run([ALUA, "-i"], input=src.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60, cwd=TMP)
    out = p.stdout.decode()
    err = p.stderr.decode()
    check_clean(err)
    lines = out.splitlines()
    assert p.returncode == 0, (p.returncode, out, err)
    assert lines[0].startswith("alua ") and lines[1].startswith("Lua 5.4"), lines
    task_line = lines[17]
    assert task_line.startswith("<Task pending name='Task-2'"), lines
    assert lines[2:] == [
        "> x = 20", "> function f()", ">>   return x * 2", ">> end",
        "> =f()", "40",
        "> 1, 'two'", "1\ttwo",
        "> t = asyncio.create_task(function() await asyncio.sleep(0.01) return 'task' end)",
        "> await t", "task",
        "> error('boom')",
        "> print('after error')", "after error",
        "> asyncio.create_task(function() local ok, e = pcall(asyncio.await, asyncio.sleep(60)) print('cleanup') end)",
        task_line,
        "> await asyncio.sleep(0.01)",
        "> ",
        "cleanup"], lines
    assert err.startswith("stdin:1: boom\nstack traceback:"), err
    # _PROMPT and _PROMPT2, strings or values with __tostring, as lua5.4 has them
    p = subprocess.run([ALUA, "-e", "local n = 0 _PROMPT = setmetatable({}, {__tostring = function() n = n + 1 "
                        "return 'p' .. n .. ': ' end}) _PROMPT2 = '..: '", "-i"],
                       input=b"for i = 1, 2 do\nprint(i) end\n", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60, cwd=TMP)
    check_clean(p.stderr.decode())
    assert p.stdout.decode().splitlines()[2:] == ["p1: for i = 1, 2 do", "..: print(i) end", "1", "2", "p2: "], \
        p.stdout.decode()
    # a _PROMPT whose __tostring fails: the default prompt
    p = subprocess.run([ALUA, "-e", "_PROMPT = setmetatable({}, {__tostring = function() error('no') end})", "-i"],
                       input=b"=1\n", stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, cwd=TMP)
    assert p.stdout.decode().splitlines()[2:] == ["> =1", "1", "> "], p.stdout.decode()
    # plain `alua < file`: one chunk, like lua5.4 (a local survives across lines)
    p = subprocess.run([ALUA], input=b"local v = 5\nprint(v * 2)\n", stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60, cwd=TMP)
    check_clean(p.stderr.decode())
    assert p.returncode == 0 and p.stdout.decode() == "10\n", (p.returncode, p.stdout, p.stderr)
    # -i with a regular file on stdin (not pollable)
    path = os.path.join(TMP, "input.lua")
    with open(path, "w") as f:
        f.write("=await asyncio.sleep(0.01, 'from file')\n")
    with open(path) as f:
        p = subprocess.run([ALUA, "-i"], stdin=f, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60, cwd=TMP)
    check_clean(p.stderr.decode())
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert p.stdout.decode().splitlines()[2:] == ["> =await asyncio.sleep(0.01, 'from file')", "from file", "> "], \
        (p.stdout, p.stderr)


def case_no_readline(s):
    """Without readline (a preloaded library makes loading it fail, as on
    a machine where it is not installed) a terminal still gets the banner
    and the prompts, the terminal's own line editing reads the lines,
    statements run and print, Ctrl+C drops the statement being entered,
    Ctrl+D leaves, and no history file is written."""
    s = start(env={"LD_PRELOAD": os.environ["NO_READLINE_PRELOAD"]})
    try:
        s.prompt()
        assert "Type help for what asyncio offers" in s.plain(), s.plain()
        m = s.mark()
        s.send("=await asyncio.sleep(0.01, 40) + 2\n")
        s.expect("42\n", after=m)
        s.prompt()
        s.send("for i = 1, 2 do\n")
        s.expect_screen(lambda sc: sc.cursor_line() == ">>", what="'>> '")
        m = s.mark()
        s.send("print('line', i) end\n")
        s.expect("line\t1\nline\t2\n", after=m)
        s.prompt()
        s.send("for i = 1, 3 do\n")
        s.expect_screen(lambda sc: sc.cursor_line() == ">>", what="'>> '")
        m = s.mark()
        s.send("\x03")
        s.expect("KeyboardInterrupt\n", after=m)
        s.prompt()
        m = s.mark()
        s.send("=1 + 2\n")
        s.expect("3\n", after=m)
        s.prompt()
        s.send("\x04")
        assert s.wait_exit() == 0
        check_clean(s.output)
        assert not os.path.exists(os.path.join(TMP, "history"))
    finally:
        s.close()


def case_failed_task(s):
    """A background task that fails with nobody awaiting it is reported at
    the end of the loop pass in which it failed, above the next prompt (as
    Node reports an unhandled rejection), not when it is collected; one
    that is awaited, or gathered by the statement, is not reported."""
    src = ("asyncio.create_task(function() error('lost') end)\n"
           "await asyncio.sleep(0)\n"
           "print('next')\n"
           "t = asyncio.create_task(function() await asyncio.sleep(0) error('awaited') end)\n"
           "print(pcall(asyncio.await, t))\n"
           "await asyncio.gather(asyncio.create_task(function() error('gathered') end))\n"
           "print('end')\n")
    p = subprocess.run([ALUA, "-i"], input=src.encode(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60, cwd=TMP)
    out = re.sub(r"0x[0-9a-f]+", "ADDR", p.stdout.decode())
    assert p.returncode == 0, (p.returncode, out)
    assert out.splitlines()[2:] == [
        "> asyncio.create_task(function() error('lost') end)",
        "<Task pending name='Task-1' coro=<function <stdin:1>() running at stdin:1>>",
        "> await asyncio.sleep(0)",
        "Task exception was never retrieved",
        "task: <Task finished name='Task-1' error=stdin:1: lost>",
        "error: stdin:1: lost",
        "stack traceback:",
        "\t[C]: in function 'error'",
        "\tstdin:1: in function <stdin:1>",
        "> print('next')", "next",
        "> t = asyncio.create_task(function() await asyncio.sleep(0) error('awaited') end)",
        "> print(pcall(asyncio.await, t))", "false\tstdin:1: awaited",
        "> await asyncio.gather(asyncio.create_task(function() error('gathered') end))",
        "stdin:1: gathered",
        "stack traceback (task 'Task-3'):",
        "\t[C]: in function 'error'",
        "\tstdin:1: in function <stdin:1>",
        "awaited by the statement:",
        "\tstdin:1: in main chunk",
        "> print('end')", "end",
        "> "], out
    # several failing in one pass: reported in the order the tasks were made
    src = ("for i = 1, 6 do asyncio.create_task(function() error('boom ' .. i, 0) end) end\n"
           "await asyncio.sleep(0)\n")
    p = subprocess.run([ALUA, "-i"], input=src.encode(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60, cwd=TMP)
    errors = [line for line in p.stdout.decode().splitlines() if line.startswith("error: ")]
    assert errors == ["error: boom %d" % i for i in range(1, 7)], p.stdout.decode()


CASES = {
    "await": (case_await, []),
    "background": (case_background, []),
    "multiline": (case_multiline, []),
    "completion": (case_completion, []),
    "interrupt": (case_interrupt, []),
    "history": (case_history, []),
    "script": (case_script, ["-i", "script.lua"]),
    "eof": (case_eof, []),
    "pipe": (case_pipe, None),
    "banner": (case_banner, []),
    "values": (case_values, []),
    "help": (case_help, []),
    "help_complete": (case_help_complete, None),
    "failed_task": (case_failed_task, None),
    "no_readline": (case_no_readline, None),
}


def main():
    global ALUA, TMP
    if len(sys.argv) != 3 or sys.argv[2] not in CASES:
        sys.exit("usage: repl_cases.py ALUA CASE (one of %s)" % ", ".join(CASES))
    ALUA = os.path.abspath(sys.argv[1])
    fn, args = CASES[sys.argv[2]]
    TMP = tempfile.mkdtemp(prefix="alua-repl-")
    try:
        if args is None:
            fn(None)
            return
        if "script.lua" in args:
            with open(os.path.join(TMP, "script.lua"), "w") as f:
                f.write(SCRIPT % lua_str(trigger_path("go")))
        s = start(*args)
        try:
            fn(s)
            if s.status is None:
                s.send("\x04")
                status = s.wait_exit()
                assert status == 0, "exit status %s" % status
            check_clean(s.output)
        finally:
            s.close()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
