"""Drives an interactive program through a pseudo-terminal, for the REPL tests.

Session starts the program on a pty (it becomes the session leader with the
pty as its controlling terminal, so Ctrl+C written to the pty is SIGINT for
it), keeps everything it writes, and renders that on a small emulated screen
(Screen), so tests can check what a user would see: where lines ended up,
and that the line being typed survived output printed above it.

Every wait has a deadline in seconds and polls; nothing relies on a fixed
sleep, so a loaded machine only makes the tests slower.
"""

import os
import pty
import re
import select
import signal
import struct
import termios
import fcntl
import time

ROWS, COLS = 50, 200
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z@]|\x1b\][^\x07]*\x07|\x1b[=>()][0-9A-Za-z]?|[\x07]")


class Screen:
    """A minimal VT100/xterm screen: enough for readline's line editing
    (carriage return, erase in line, cursor moves, insert/delete)."""

    def __init__(self, rows=ROWS, cols=COLS):
        self.rows, self.cols = rows, cols
        self.lines = [[" "] * cols for _ in range(rows)]
        self.row = self.col = 0
        self.pending = ""   # an escape sequence split across reads

    def _newline(self):
        self.row += 1
        if self.row >= self.rows:
            self.lines.pop(0)
            self.lines.append([" "] * self.cols)
            self.row = self.rows - 1

    def _put(self, ch):
        if self.col >= self.cols:
            self.col = 0
            self._newline()
        self.lines[self.row][self.col] = ch
        self.col += 1

    def _csi(self, params, final):
        private = params.startswith("?")
        nums = [int(p) if p.isdigit() else 0 for p in params.lstrip("?").split(";")] if params.lstrip("?") else []
        n = nums[0] if nums and nums[0] > 0 else 1
        line = self.lines[self.row]
        if private or final in "mhlr":
            return
        if final == "K":
            mode = nums[0] if nums else 0
            lo, hi = {0: (self.col, self.cols), 1: (0, self.col + 1), 2: (0, self.cols)}.get(mode, (0, 0))
            for i in range(lo, min(hi, self.cols)):
                line[i] = " "
        elif final == "J":
            mode = nums[0] if nums else 0
            if mode == 0:
                for i in range(self.col, self.cols):
                    line[i] = " "
                for r in range(self.row + 1, self.rows):
                    self.lines[r] = [" "] * self.cols
            else:
                self.lines = [[" "] * self.cols for _ in range(self.rows)]
        elif final == "A":
            self.row = max(0, self.row - n)
        elif final == "B":
            self.row = min(self.rows - 1, self.row + n)
        elif final == "C":
            self.col = min(self.cols - 1, self.col + n)
        elif final == "D":
            self.col = max(0, self.col - n)
        elif final == "G":
            self.col = min(self.cols - 1, n - 1)
        elif final in "Hf":
            r = nums[0] if nums else 1
            c = nums[1] if len(nums) > 1 else 1
            self.row, self.col = min(self.rows, max(r, 1)) - 1, min(self.cols, max(c, 1)) - 1
        elif final == "P":
            del line[self.col:self.col + n]
            line.extend([" "] * (self.cols - len(line)))
        elif final == "@":
            for _ in range(n):
                line.insert(self.col, " ")
            del line[self.cols:]
        elif final == "X":
            for i in range(self.col, min(self.col + n, self.cols)):
                line[i] = " "

    def feed(self, text):
        text = self.pending + text
        self.pending = ""
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "\x1b":
                m = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z@])").match(text, i)
                if m:
                    self._csi(m.group(1), m.group(2))
                    i = m.end()
                    continue
                m = re.compile(r"\x1b\][^\x07]*\x07|\x1b[=>]|\x1b[()][0-9A-Za-z]").match(text, i)
                if m:
                    i = m.end()
                    continue
                if len(text) - i < 16:   # incomplete: wait for the rest
                    self.pending = text[i:]
                    return
                i += 1
                continue
            if ch == "\r":
                self.col = 0
            elif ch == "\n":
                self._newline()
            elif ch == "\b":
                self.col = max(0, self.col - 1)
            elif ch == "\t":
                self.col = min(self.cols - 1, (self.col // 8 + 1) * 8)
            elif ch == "\x07":
                pass
            elif ch >= " ":
                self._put(ch)
            i += 1

    def text_lines(self):
        """The screen's lines, trailing blanks and blank lines at the end removed."""
        out = ["".join(l).rstrip() for l in self.lines]
        while out and not out[-1]:
            out.pop()
        return out

    def cursor_line(self):
        return "".join(self.lines[self.row]).rstrip()


class Session:
    def __init__(self, argv, env=None, cwd=None):
        self.output = ""          # everything written, decoded
        self.screen = Screen()
        full_env = dict(os.environ)
        full_env.update({"TERM": "xterm", "LC_ALL": "C", "INPUTRC": "/dev/null"})
        full_env.pop("LUA_INIT", None)
        full_env.pop("LUA_INIT_5_4", None)
        if env:
            full_env.update(env)
        pid, fd = pty.fork()
        if pid == 0:   # child: the pty is its terminal
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
                if cwd:
                    os.chdir(cwd)
                os.execve(argv[0], argv, full_env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.status = None
        self.entered = 0   # output offset when Enter, Ctrl+C or Ctrl+D was last sent

    def _read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:   # EIO: the program closed the terminal (it exited)
            data = b""
        if not data:
            self._reap(block=True)
            return None
        text = data.decode("utf-8", "replace")
        self.output += text
        self.screen.feed(text)
        return True

    def _reap(self, block):
        if self.status is None:
            pid, st = os.waitpid(self.pid, 0 if block else os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(st)

    def plain(self):
        """Everything written so far, without escape sequences and \\r."""
        return ANSI.sub("", self.output).replace("\r", "")

    def wait_for(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            if pred():
                return
            left = deadline - time.monotonic()
            if left <= 0 or self.status is not None:
                if pred():
                    return
                raise AssertionError("timed out after %gs waiting for %s\n--- screen ---\n%s\n--- output ---\n%r"
                                     % (timeout, what, "\n".join(self.screen.text_lines()), self.output[-3000:]))
            if self._read(min(left, 0.2)) is None and not pred():
                raise AssertionError("program exited (status %s) while waiting for %s\n--- screen ---\n%s"
                                     % (self.status, what, "\n".join(self.screen.text_lines())))

    def expect(self, text, timeout=15, after=0):
        """Waits until text appears in the plain output after offset `after`;
        returns the offset just past it."""
        found = []

        def pred():
            i = self.plain().find(text, after)
            if i >= 0:
                found.append(i + len(text))
            return i >= 0
        self.wait_for(pred, timeout, repr(text))
        return found[-1]

    def expect_screen(self, pred, timeout=15, what="screen condition"):
        self.wait_for(lambda: pred(self.screen), timeout, what)

    def prompt(self, timeout=15):
        """Waits for a new empty primary prompt on the cursor line: one
        printed after the last Enter (Ctrl+C, Ctrl+D) sent."""
        def pred(s):
            tail = ANSI.sub("", self.output[self.entered:]).replace("\r", "")
            return re.search(r"(^|\n)> ", tail) and s.cursor_line() == ">" and s.col == 2
        self.expect_screen(pred, timeout, "a new empty '> ' prompt")

    def send(self, text):
        if any(c in text for c in "\n\x03\x04"):
            self.entered = len(self.output)
        os.write(self.fd, text.encode())

    def mark(self):
        return len(self.plain())

    def wait_exit(self, timeout=15):
        deadline = time.monotonic() + timeout
        while self.status is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("program did not exit within %gs\n--- screen ---\n%s"
                                     % (timeout, "\n".join(self.screen.text_lines())))
            if self._read(min(left, 0.2)) is None:
                break
            self._reap(block=False)
        self._reap(block=True)
        return self.status

    def close(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap(block=True)
        try:
            os.close(self.fd)
        except OSError:
            pass
