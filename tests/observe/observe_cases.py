#!/usr/bin/env python3
"""Observability through the alua program.

    observe_cases.py ALUA CASE

Each case is a function below; meson registers one test per case (suite
'observe'). Scripts that must be caught at a chosen moment wait for a file
the test creates, so no case depends on how fast the machine is.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ALUA = None
TMP = None

SANITIZER_MARKS = ("runtime error:", "AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer")


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def run(args, env=None, stdin=None):
    e = dict(os.environ)
    e.pop("COLUMNS", None)
    if env:
        e.update(env)
    p = subprocess.run([ALUA] + args, cwd=TMP, env=e, input=stdin, capture_output=True, text=True, timeout=30)
    for mark in SANITIZER_MARKS:
        assert mark not in p.stderr, "sanitizer report:\n" + p.stderr
    return p


def expect_equal(got, want, what):
    if got != want:
        sys.stderr.write("%s differs\n--- expected ---\n%s\n--- got ---\n%s\n" % (what, want, got))
        raise AssertionError(what)


# A producer hands three items to a worker through a queue; main awaits the
# worker. Steps, waits and wake-ups all appear in the trace.
PIPELINE = """
local q = asyncio.Queue()
async function worker()
  local sum = 0
  for _ = 1, 3 do sum = sum + await(q:get()) end
  return sum
end
async function producer()
  for i = 1, 3 do
    await(asyncio.sleep(0.01))
    await(q:put(i))
  end
end
async function main()
  local w = asyncio.create_task(worker, {name = "worker"})
  asyncio.create_task(producer, {name = "producer"})
  print(await(w))
end
%s
"""


def load_trace(path):
    with open(path) as f:
        trace = json.load(f)  # the file must be valid JSON
    events = trace["traceEvents"]
    names = {}
    for e in events:
        if e["ph"] == "M" and e["name"] == "thread_name":
            names[e["tid"]] = e["args"]["name"]
    return events, names


def check_pipeline_trace(path, main_name):
    events, names = load_trace(path)
    tids = {v: k for k, v in names.items()}
    for task in (main_name, "Task 'worker'", "Task 'producer'"):
        assert task in tids, "no track for %s: %r" % (task, names)
    assert names[1] == "callbacks"
    main, worker, producer = tids[main_name], tids["Task 'worker'"], tids["Task 'producer'"]
    steps = [e for e in events if e["ph"] == "X" and e["cat"] == "step"]
    waits = [e for e in events if e["ph"] == "X" and e["cat"] == "wait"]
    # the worker: a first step, then one per item (its last one returns)
    assert len([e for e in steps if e["tid"] == worker]) == 4, steps
    for e in steps + waits:
        assert e["dur"] >= 0 and e["ts"] >= 0
    labels = {(e["tid"], e["name"]) for e in waits}
    assert (main, "Task 'worker'") in labels, labels
    assert (producer, "sleep 0.01s (until 0.010)") in labels or any(
        t == producer and n.startswith("sleep 0.01s") for t, n in labels), labels
    assert any(t == worker and n.startswith("Queue.get <Queue") for t, n in labels), labels
    kinds = {e["args"]["kind"] for e in waits}
    assert {"sleep", "Queue.get"} <= kinds, kinds
    # flows: each start has its end, and they go main -> worker (creation),
    # producer -> worker (each put) and worker -> main (its result)
    starts = {e["id"]: e for e in events if e["ph"] == "s"}
    ends = {e["id"]: e for e in events if e["ph"] == "f"}
    assert set(starts) == set(ends) and starts, (starts, ends)
    pairs = [(starts[i]["tid"], ends[i]["tid"]) for i in starts]
    assert (main, worker) in pairs, pairs
    assert (main, producer) in pairs, pairs
    assert pairs.count((producer, worker)) == 3, pairs
    assert (worker, main) in pairs, pairs
    for i in starts:
        assert ends[i]["bp"] == "e"
        # each flow starts inside a slice of its own track
        s = starts[i]
        assert any(e["tid"] == s["tid"] and e["ts"] <= s["ts"] <= e["ts"] + e["dur"] for e in steps), s
    # per-task accounting when the task ended
    done = {e["tid"]: e for e in events if e["ph"] == "i" and e["name"] == "done"}
    assert done[worker]["args"]["steps"] == 4, done[worker]
    assert done[producer]["args"]["steps"] == 4, done[producer]
    for e in done.values():
        assert e["args"]["cpu_ms"] >= 0 and e["args"]["waited_ms"] >= 0


def case_trace_cli():
    script = write("pipeline.lua", PIPELINE % "asyncio.run(main, {virtual_time = true})")
    out = os.path.join(TMP, "out.json")
    p = run(["--trace", out, script])
    assert p.returncode == 0 and p.stdout == "6\n" and p.stderr == "", p
    check_pipeline_trace(out, "Task 'Task-1'")
    # a program that ends in a deadlock still writes its trace
    stuck = write("stuck.lua", "asyncio.run(async function() await(asyncio.Event():wait()) end)\n")
    out2 = os.path.join(TMP, "stuck.json")
    p = run(["--trace", out2, stuck])
    assert p.returncode == 1 and "deadlock" in p.stderr, p
    events, names = load_trace(out2)
    assert any(e.get("name", "").startswith("Event <Event unset") for e in events), events


def case_trace_api():
    script = write("pipeline.lua", PIPELINE % """
asyncio.trace.start("api.json")
asyncio.run(main)
print(asyncio.trace.stop())
print(pcall(asyncio.trace.stop))
""")
    p = run([script])
    assert p.returncode == 0, p
    expect_equal(p.stdout, "6\napi.json\nfalse\ttrace.stop: no trace is being recorded\n", "stdout")
    check_pipeline_trace(os.path.join(TMP, "api.json"), "Task 'Task-1'")


# trace.start() without a path records for a timeline: trace.stop(width)
# returns it as text (what alua --timeline prints)
TIMELINE_API = 'print(asyncio.trace.is_recording())\nasyncio.trace.start()\nprint(asyncio.trace.is_recording())\nasyncio.run(function()\n  local t = asyncio.create_task(function() await asyncio.sleep(1) end, {name = "sleeper"})\n  await t\nend, {virtual_time = true})\nprint(asyncio.trace.stop(40))\nprint(asyncio.trace.is_recording(), pcall(asyncio.trace.stop))\nprint(pcall(asyncio.trace.start, 5))\nasyncio.trace.start()\nprint(pcall(asyncio.trace.stop, 5))\nprint(#asyncio.trace.stop(40) > 0)\n'

TIMELINE_API_OUT = "false\ntrue\n        0s              0.5s          1s\nTask-1  █──────────────────────────────█\nsleeper █░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░█\n        █ running  ░ sleep\n        ─ awaiting another task\nfalse\tfalse\ttrace.stop: no trace is being recorded\nfalse\tbad argument #1 to 'start' (string or nil expected, got number)\nfalse\tbad argument #1 to 'stop' (integer >= 20 expected)\ntrue\n"


def case_timeline_api():
    script = write("timeline_api.lua", TIMELINE_API)
    p = run([script])
    assert p.returncode == 0 and p.stderr == "", p
    expect_equal(p.stdout, TIMELINE_API_OUT, "stdout")


CHORES = """
async function chore(name, seconds)
  await(asyncio.sleep(seconds))
  print(name)
end
for _, c in ipairs({{"laundry", 3}, {"rice", 2}, {"sweeping", 1}}) do
  asyncio.create_task(chore, c[1], c[2], {name = c[1]})
end
"""

TIMELINE_60 = """\
         0s      0.5s     1s      1.5s    2s       2.5s   3s
laundry  █░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░█
rice     █░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░█
sweeping █░░░░░░░░░░░░░░░░█
         █ running  ░ sleep
"""

TIMELINE_30 = """\
         0s           2s
laundry  █░░░░░░░░░░░░░░░░░░░█
rice     █░░░░░░░░░░░░█
sweeping █░░░░░░█
         █ running  ░ sleep
"""


def case_timeline_cli():
    script = write("chores.lua", CHORES)
    for columns, want in (("60", TIMELINE_60), ("30", TIMELINE_30)):
        p = run(["--virtual-time", "--timeline", script], env={"COLUMNS": columns})
        assert p.returncode == 0, p
        expect_equal(p.stdout, "sweeping\nrice\nlaundry\n", "stdout")
        expect_equal(p.stderr, want, "timeline at COLUMNS=" + columns)


def start(script):
    # the child gets SIGQUIT's default disposition whatever this process has
    return subprocess.Popen([ALUA, os.path.basename(script)], cwd=TMP, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGQUIT, signal.SIG_DFL))


def wait_for(path, proc):
    deadline = time.time() + 20
    while not os.path.exists(path):
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline, "the script never got ready"
        time.sleep(0.01)


# The script says it is ready by creating a file, from a callback that runs
# once its main task is parked on a future that stdin's first line sets (so
# no task is running when the signal comes), then lets the waiter go.
SIGQUIT_SCRIPT = """
local ev = asyncio.Event()
async function waiter() await(ev:wait()) end
asyncio.run(async function()
  %s
  local loop = asyncio.get_running_loop()
  local w = asyncio.create_task(waiter, {name = "waiter"})
  local go = loop:create_future()
  loop:add_reader(0, function() loop:remove_reader(0) go:set_result(io.read()) end)
  loop:call_soon(function() io.open("ready", "w"):close() end)
  await(go)
  ev:set()
  await(w)
  print("carried on")
end)
"""


def case_sigquit():
    script = write("quit.lua", SIGQUIT_SCRIPT % "")
    proc = start(script)
    wait_for(os.path.join(TMP, "ready"), proc)
    proc.send_signal(signal.SIGQUIT)
    time.sleep(0.2)
    os.remove(os.path.join(TMP, "ready"))
    out, err = proc.communicate(input="go\n", timeout=20)
    assert proc.returncode == 0, (proc.returncode, out, err)
    expect_equal(out, "carried on\n", "stdout")
    lines = err.splitlines()
    assert lines[0].startswith("2 tasks at loop time "), err
    assert lines[1].startswith("Task 'Task-1' at quit.lua:11 waiting for Future <Future pending> since "), err
    assert lines[2].startswith("Task 'waiter' at quit.lua:3 waiting for Event <Event unset waiters=1> since "), err
    assert len(lines) == 3, err


def case_sigquit_handler():
    script = write("quit.lua", SIGQUIT_SCRIPT % """
  asyncio.get_running_loop():add_signal_handler(asyncio.SIGQUIT, function() print("my handler") end)""")
    proc = start(script)
    wait_for(os.path.join(TMP, "ready"), proc)
    proc.send_signal(signal.SIGQUIT)
    time.sleep(0.2)
    os.remove(os.path.join(TMP, "ready"))
    out, err = proc.communicate(input="go\n", timeout=20)
    assert proc.returncode == 0, (proc.returncode, out, err)
    expect_equal(out, "my handler\ncarried on\n", "stdout")
    expect_equal(err, "", "stderr")


def case_repl_deadlock():
    stdin = "q = asyncio.Queue()\nawait(q:get())\nprint('still here')\n"
    p = run(["-i"], stdin=stdin, env={"ALUA_HISTORY": os.path.join(TMP, "history")})
    assert p.returncode == 0, p
    assert "still here" in p.stdout, p
    want = ("deadlock: nothing can ever wake what the main task waits for:\n"
            "  Task 'stdin' waits for Queue.get <Queue maxsize=0 qsize=0 getters=1>, which no task will ever feed\n")
    assert want in p.stderr, p.stderr


def main():
    global ALUA, TMP
    ALUA = os.path.abspath(sys.argv[1])
    case = sys.argv[2]
    TMP = tempfile.mkdtemp(prefix="alua-observe-")
    try:
        globals()["case_" + case]()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
