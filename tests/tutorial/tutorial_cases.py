#!/usr/bin/env python3
"""Tutorial tests: `alua --tutorial` driven through a pseudo-terminal (the
REPL tests' driver, tests/repl/ptydriver.py), in English and Chinese.

    tutorial_cases.py ALUA CASE [LANG]

Each case is a function below; meson registers one test per case and
language. Every session gets its own $XDG_STATE_HOME, so progress and the
learner's exercise files start empty; EDITOR is a script that writes a
learner's fix into the file it is given, as a person in an editor would.
"""

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "repl"))
from ptydriver import Session  # noqa: E402

ALUA = None
TMP = None
LANG = "en"

SGR = re.compile(r"\x1b\[[0-9;]*m")
SANITIZER_MARKS = ("runtime error:", "AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer")

# What the player says, in each language.
TEXT = {
    "en": {
        "welcome": "Welcome to alua's tutorial",
        "title1": "Lesson 1/18 · Why async: doing the chores",
        "example1": "Lesson 1/18 · Why async: doing the chores · example",
        "exercise1": "Lesson 1/18 · Why async: doing the chores · exercise",
        "finished": "main finished at t=9.0",
        "try": "await main()",
        "your_copy": "Your copy: ",
        "check_fail": "breakfast is served at t=7.0, not 4.0",
        "hint1": "Hint 1 of 2:",
        "hint2": "Hint 2 of 2:",
        "no_more": "That was the last hint",
        "passed": "All checks pass. Lesson 1 is done.",
        "reference": "reference solution",
        "reset": "holds the starter code again",
        "title3": "Lesson 3/18 · Coroutines and await · exercise",
        "title4": "Lesson 4/18 · Tasks",
        "example4": "Lesson 4/18 · Tasks · example",
        "resume": "Welcome back: lesson 3, where you left off.",
        "first_step": "this is the first step",
        "no_lesson": "there is no lesson 19 (1 to 18)",
        "stopped": "still running after 500 million Lua instructions",
        "exit_msg": "os.exit(3)",
        "syntax": "the program does not compile:",
        "forever": "still running at t=86400",
        "help": "goto N           lesson N",
        "title18": "Lesson 18/18 · Debugging: who waits for what",
        "all_done": "That was the last lesson: 0 of 18 done. Well done!",
        "exercise": "exercise",
    },
    "zh": {
        "welcome": "欢迎来到 alua 教程",
        "title1": "第 1/18 课 · 为什么要异步：做家务",
        "example1": "第 1/18 课 · 为什么要异步：做家务 · 示例",
        "exercise1": "第 1/18 课 · 为什么要异步：做家务 · 练习",
        "finished": "main 在 t=9.0 结束",
        "try": "await main()",
        "your_copy": "你的练习文件：",
        "check_fail": "早餐在 t=7.0 才上桌，不是 4.0",
        "hint1": "提示 1/2：",
        "hint2": "提示 2/2：",
        "no_more": "提示已经用完",
        "passed": "全部检查通过，第 1 课完成。",
        "reference": "参考答案",
        "reset": "已恢复成初始代码",
        "title3": "第 3/18 课 · 协程与 await · 练习",
        "title4": "第 4/18 课 · 任务",
        "example4": "第 4/18 课 · 任务 · 示例",
        "resume": "欢迎回来，从上次的第 3 课继续。",
        "first_step": "已经是第一步了",
        "no_lesson": "没有第 19 课（共 1 到 18 课）",
        "stopped": "执行了 5 亿条 Lua 指令还没结束",
        "exit_msg": "os.exit(3)",
        "syntax": "程序无法编译：",
        "forever": "到 t=86400 还在运行",
        "help": "goto N           跳到第 N 课",
        "title18": "第 18/18 课 · 调试：谁在等什么",
        "all_done": "这是最后一课：已完成 0 课，共 18 课。辛苦了！",
        "exercise": "练习",
    },
}

# A learner's own fix of exercise 1 (not the reference solution's gather).
FIX_01 = """\
async function make(item, minutes)
  print("start " .. item)
  await asyncio.sleep(minutes)
  print(item .. " ready")
end

async function main()
  local tasks = {}
  for _, item in ipairs({{"coffee", 2}, {"eggs", 4}, {"toast", 1}}) do
    tasks[#tasks + 1] = asyncio.create_task(make(item[1], item[2]))
  end
  for _, t in ipairs(tasks) do await t end
  print("breakfast is served")
end

asyncio.run(main)
"""


def t(key):
    return TEXT[LANG][key]


def state_dir():
    return os.path.join(TMP, "state")


def exercise_file(name):
    return os.path.join(state_dir(), "alua", "tutorial", name)


def make_editor(content):
    """An EDITOR that replaces the file it is given with `content` and notes
    which file that was."""
    src = os.path.join(TMP, "editor-content.lua")
    with open(src, "w") as f:
        f.write(content)
    path = os.path.join(TMP, "editor.sh")
    with open(path, "w") as f:
        f.write('#!/bin/sh\nprintf "%%s\\n" "$1" >> "%s/edited"\ncp "%s" "$1"\n' % (TMP, src))
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path


def start(*args, env=None, lang_flag=True):
    e = {"ALUA_HISTORY": os.path.join(TMP, "history"), "XDG_STATE_HOME": state_dir()}
    if not (env and "EDITOR" in env):
        e["EDITOR"] = make_editor(FIX_01)
    e.pop("NO_COLOR", None)
    if env:
        e.update(env)
    argv = [ALUA, "--tutorial"] + list(args)
    if lang_flag:
        argv += ["--lang", LANG]
    return Session(argv, env=e, cwd=TMP)


def check_clean(text):
    for mark in SANITIZER_MARKS:
        assert mark not in text, "sanitizer report:\n" + text[-4000:]


def command(s, cmd, *expected, timeout=30):
    """Types a command at the prompt and waits for each expected text, in
    order, then for the next prompt. Returns the plain output it produced."""
    s.prompt(timeout=timeout)
    m = s.mark()
    s.send(cmd + "\n")
    at = m
    for text in expected:
        at = s.expect(text, timeout=timeout, after=at)
    s.prompt(timeout=timeout)
    return s.plain()[m:]


def finish(s):
    s.prompt()
    s.send("quit\n")
    status = s.wait_exit()
    assert status == 0, "exit status %s" % status
    check_clean(s.output)


# ------------------------------------------------------------------ cases

def case_lesson(s):
    """A first lesson: the explanation, the example with its run under
    virtual time (exact times in the gutter), its definitions at the prompt
    (top-level await, in real time), run again, then the exercise."""
    s.expect(t("welcome"))
    s.expect(t("title1"))
    out = command(s, "next", t("example1"), "async function chore(name, minutes)",
                  "0.0 │ start laundry", "6.0 │ one after another: 6.0 minutes",
                  "9.0 │ all at once: 3.0 minutes", t("finished"), t("try"))
    assert "await asyncio.gather(chore(\"laundry\", 3)" in out, out
    # the example's functions are defined at the prompt; await works there
    out = command(s, 'await chore("dishes", 0.05)', "start dishes\n", "dishes done\n")
    out = command(s, "=type(one_after_another)", "function\n")
    out = command(s, "run", "0.0 │ start laundry", "9.0 │ all at once: 3.0 minutes", t("finished"))
    assert "async function chore" not in out, "run shows the output only"
    out = command(s, "next", t("exercise1"), t("your_copy"))
    path = exercise_file("01_chores.lua")
    assert os.path.exists(path), path
    assert "await make(\"coffee\", 2)" in open(path).read()
    out = command(s, "help", t("help"))
    finish(s)


def case_exercise(s):
    """The exercise: the starter fails its check with a message that says
    what is wrong; hints one by one; `edit` opens $EDITOR on the learner's
    copy and checks the result; the lesson is then marked done; reset and
    solution."""
    s.expect(t("title1"))
    command(s, "next")
    command(s, "next", t("exercise1"))
    out = command(s, "check", "✗", t("check_fail"), "7.0 │ breakfast is served")
    assert "✓" in out, out   # the checks before the failing one passed
    command(s, "hint", t("hint1"))
    out = command(s, "hint", t("hint2"), t("no_more"))
    out = command(s, "hint", t("hint2"))
    out = command(s, "edit", "✓", t("passed"))
    assert "✗" not in out, out
    edited = open(os.path.join(TMP, "edited")).read().split()
    assert edited == [exercise_file("01_chores.lua")], edited
    out = command(s, "list", "▸ ✓  1")
    # the fix is loaded at the prompt: main is the learner's now
    out = command(s, "=main ~= nil and make ~= nil", "true\n")
    progress = open(exercise_file("progress.lua")).read()
    assert '["01_chores"] = true' in progress, progress
    out = command(s, "reset", t("reset"))
    assert "TODO" in open(exercise_file("01_chores.lua")).read()
    assert os.path.exists(exercise_file("01_chores.lua.bak"))
    command(s, "check", t("check_fail"))
    out = command(s, "solution", t("reference"), "await asyncio.gather(make(\"coffee\", 2)")
    finish(s)


def case_resume(s):
    """Navigation (goto, next, prev across lessons, bad numbers) and
    resuming where the learner left off in a new session."""
    s.expect(t("title1"))
    command(s, "prev", t("first_step"))
    command(s, "goto 19", t("no_lesson"))
    command(s, "goto 4", t("title4"))
    command(s, "next", t("example4"), "3.0 │ <Task finished name='tea' result='tea is ready'>")
    command(s, "prev", t("title4"))
    command(s, "prev", t("title3"))
    out = command(s, "list", "▸ •  3", "•  4")
    assert "·  5" in out, out
    command(s, "goto 18", t("title18"))
    command(s, "next")
    command(s, "next")
    command(s, "next", t("all_done"))
    command(s, "goto 3", t("title3").replace(" · " + t("exercise"), ""))
    command(s, "next")
    command(s, "next", t("title3"))
    finish(s)
    s2 = start(lang_flag=False)
    try:
        s2.expect(t("resume"))
        s2.expect(t("title3"))
        command(s2, "list", "▸ •  3")
        finish(s2)
    finally:
        s2.close()


def case_lang(s):
    """`lang zh` switches the language at once and is remembered; a zh*
    locale picks Chinese for a new learner; --lang overrides both."""
    s.expect(TEXT["en"]["title1"])
    command(s, "lang zh", TEXT["zh"]["title1"])
    command(s, "next", TEXT["zh"]["example1"], "-- 在等，不是在干活")
    finish(s)
    s2 = start(lang_flag=False)   # the saved choice
    try:
        s2.expect(TEXT["zh"]["example1"])
        finish(s2)
    finally:
        s2.close()
    shutil.rmtree(state_dir())
    for env, want in (({"LC_ALL": "", "LANG": "zh_CN.UTF-8"}, "zh"), ({"LC_ALL": "zh_TW.UTF-8"}, "zh"),
                      ({"LC_ALL": "", "LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
                      ({"LC_ALL": "", "LANG": "en_US.UTF-8"}, "en")):
        s3 = start(env=env, lang_flag=False)
        try:
            s3.expect(TEXT[want]["welcome"])
            s3.expect(TEXT[want]["title1"])
            finish(s3)
        finally:
            s3.close()
        shutil.rmtree(state_dir())
    s4 = start("--lang", "en", env={"LANG": "zh_CN.UTF-8"}, lang_flag=False)
    try:
        s4.expect(TEXT["en"]["title1"])
        finish(s4)
    finally:
        s4.close()


def case_colour(s):
    """Syntax colouring on a terminal; none with NO_COLOR."""
    s.expect(t("title1"))
    out = command(s, "next", "9.0")
    raw = s.output
    assert "\x1b[1m\x1b[36mawait\x1b[0m" in raw, "await is not highlighted"
    assert "\x1b[32m\"laundry\"\x1b[0m" in raw, "strings are not highlighted"
    finish(s)
    s2 = start("1", env={"NO_COLOR": "1"})
    try:
        s2.expect(t("title1"))
        command(s2, "next", "9.0 │ all at once")
        command(s2, "next", t("exercise1"))
        command(s2, "check", t("check_fail"))
        finish(s2)
        found = SGR.findall(s2.output)
        assert not found, "colour with NO_COLOR: %r" % found[:5]
    finally:
        s2.close()


def case_robust(s):
    """Programs that never end, end the process or do not compile are
    stopped or reported, and the session goes on."""
    for content, want in (("async function main()\n  while true do end\nend\nasyncio.run(main)\n", t("stopped")),
                          ("async function main()\n  os.exit(3)\nend\nasyncio.run(main)\n", t("exit_msg")),
                          ("async function main(\n", t("syntax")),
                          ("async function main()\n  while true do await asyncio.sleep(1) end\nend\n"
                           "asyncio.run(main)\n", t("forever"))):
        s2 = start("1", env={"EDITOR": make_editor(content)})
        try:
            s2.expect(t("title1"))
            command(s2, "edit", "✗", want, timeout=20)
            command(s2, "=1 + 1", "2\n")
            finish(s2)
        finally:
            s2.close()


def case_pipe(s):
    """Without a terminal: the commands are read line by line, the output
    is plain; bad arguments are errors."""
    env = dict(os.environ, XDG_STATE_HOME=state_dir(), TERM="xterm")
    env.pop("NO_COLOR", None)
    p = subprocess.run([ALUA, "--tutorial", "--lang", LANG], input=b"next\nlist\nquit\n",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, env=env, cwd=TMP)
    out, err = p.stdout.decode(), p.stderr.decode()
    check_clean(err)
    assert p.returncode == 0, (p.returncode, out, err)
    assert t("example1") in out and "9.0 │ all at once: 3.0 minutes" in out, out
    assert "▸ •  1" in out, out
    assert "\x1b" not in out, "escape sequences without a terminal"
    for args, msg in ((["99"], "there is no lesson 99 (1 to 18)"), (["--lang", "fr"], "--lang takes en or zh"),
                      (["--bogus"], "unexpected tutorial argument '--bogus'")):
        p = subprocess.run([ALUA, "--tutorial"] + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60, env=env, cwd=TMP)
        assert p.returncode == 1 and msg in p.stderr.decode(), (args, p.returncode, p.stderr)


def case_docs(s):
    """The transcripts in README.md and docs/tutorial.md are what the player
    prints."""
    root = os.path.join(HERE, "..", "..")
    home = os.path.join(TMP, "home")
    os.makedirs(home)
    env = dict(os.environ, HOME=home, TERM="xterm", LC_ALL="C")
    env.pop("XDG_STATE_HOME", None)

    def run(commands):
        p = subprocess.run([ALUA, "--tutorial", "1", "--lang", "en"], input=commands.encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, env=env, cwd=TMP)
        assert p.returncode == 0, (p.returncode, p.stderr)
        check_clean(p.stderr.decode())
        return p.stdout.decode()

    def lines(text):
        return "\n".join(l.rstrip() for l in text.rstrip().split("\n"))

    readme = open(os.path.join(root, "README.md"), encoding="utf-8").read()
    want = re.search(r"```text\n> check\n\n(.*?)```", readme, re.S).group(1)
    out = run("next\nnext\ncheck\n")
    got = out[out.index("── check"):]
    assert lines(got) == lines(want), "README.md's transcript differs from the player's output:\n" + got
    shutil.rmtree(home)
    os.makedirs(home)
    doc = open(os.path.join(root, "docs", "tutorial.md"), encoding="utf-8").read()
    want = re.search(r"```text\n(.*?)```", doc, re.S).group(1)
    out = run("goto 4\nnext\nnext\ncheck\n")
    got = out[out.index("━━ Lesson 4/18 · Tasks · example"):]
    assert lines(got) == lines(want), "docs/tutorial.md's transcript differs from the player's output:\n" + got


# case: (function, whether it gets a session started for it)
CASES = {
    "lesson": (case_lesson, True),
    "exercise": (case_exercise, True),
    "resume": (case_resume, True),
    "lang": (case_lang, True),
    "colour": (case_colour, True),
    "robust": (case_robust, False),
    "pipe": (case_pipe, False),
    "docs": (case_docs, False),
}


def main():
    global ALUA, TMP, LANG
    if len(sys.argv) not in (3, 4) or sys.argv[2] not in CASES:
        sys.exit("usage: tutorial_cases.py ALUA CASE [en|zh] (CASE one of %s)" % ", ".join(CASES))
    ALUA = os.path.abspath(sys.argv[1])
    LANG = sys.argv[3] if len(sys.argv) == 4 else "en"
    fn, session = CASES[sys.argv[2]]
    TMP = tempfile.mkdtemp(prefix="alua-tutorial-")
    try:
        if not session:
            fn(None)
            return
        s = start(lang_flag=fn is not case_lang)
        try:
            fn(s)
        finally:
            s.close()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
