"""Typed traces against a live session, for the password tests and bench/prediction_compare.py.

A session is a client in a tmux pane, the test relay in the middle (--delay-ms each way)
and a server running bash with the prompt "$ ". A trace types keys on a schedule and
captures the pane (tmux capture-pane) every few milliseconds, bounded in count and time;
every captured frame is kept for the checks. Python 3 standard library only; loopback
only."""

import os
import re
import tempfile
import time

from interop import Failure, Tmux, need, start_relay, start_server, tear_down, wait_for

PROMPT = "$ "
# Typed as passwords: letters that appear in no command, prompt or output of the traces,
# so any of them on any frame is a typed password character shown.
SECRET = "QJXKVQJXKV"


def bash_command():
    return ("/bin/bash", "--norc", "--noprofile", "-i")


class Session:
    """One live session; use with `with`."""

    def __init__(self, client, server, build, mode, delay_ms, width=80, height=24, timeout=30.0):
        self.client, self.server, self.build, self.mode = client, server, build, mode
        self.delay_ms, self.timeout = delay_ms, timeout
        self.tmux = Tmux(width, height)
        self.relay = None
        self.server_pid = None
        self.home = tempfile.mkdtemp(prefix="mosh2-traces-")

    def __enter__(self):
        need("tmux")
        env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="xterm-256color", HOME=self.home,
                   SHELL="/bin/bash", PS1=PROMPT, HISTFILE="/dev/null", INPUTRC="/dev/null")
        port, key, self.server_pid = start_server(self.server, self.build, env, command=bash_command())
        self.relay, relay_port = start_relay("127.0.0.1", port, ["--delay-ms", str(self.delay_ms)])
        exe = need("mosh-client") if self.client == "stock" else os.path.join(self.build, "tools", "mosh2-client")
        self.tmux.start(f"env MOSH_KEY={key} MOSH_PREDICTION_DISPLAY={self.mode} HOME={self.home} {exe} "
                        f"127.0.0.1 {relay_port}")
        wait_for("the shell prompt", lambda: self.last_prompt_line() == "$", self.timeout)
        time.sleep(4 * self.delay_ms / 1000.0)  # a few round trips: the client's SRTT settles
        return self

    def __exit__(self, *exc):
        tear_down(self.tmux, self.relay, self.server_pid, self.home)
        return False

    def frame(self):
        return self.tmux.run("capture-pane", "-p", check=False).stdout

    def last_prompt_line(self, frame=None):
        frame = self.frame() if frame is None else frame
        lines = [l.rstrip() for l in frame.splitlines() if l.rstrip() == "$" or l.startswith(PROMPT)]
        return lines[-1] if lines else ""

    def key(self, k):
        # As bytes: tmux would read a lone ";" as its own command separator.
        for b in k.encode():
            self.tmux.hex(b)

    def settle(self, seconds):
        time.sleep(seconds)

    def typed(self, keys, spacing, watch=None, tail=0.0, poll=0.004):
        """Types `keys` one every `spacing` seconds, capturing frames meanwhile and for
        `tail` seconds after; `watch(frame, now)` sees every frame. Returns the frames."""
        frames = []
        start = time.monotonic()
        due = [start + i * spacing for i in range(len(keys))]
        end = due[-1] + tail if keys else start + tail
        i = 0
        for _ in range(int((end - start) / poll) + len(keys) + 10):  # bounded by count too
            now = time.monotonic()
            while i < len(keys) and now >= due[i]:
                self.key(keys[i])
                if watch:
                    watch(None, time.monotonic(), i)
                i += 1
            f = self.frame()
            now = time.monotonic()
            frames.append((now, f))
            if watch:
                watch(f, now, None)
            if now >= end and i == len(keys):
                break
            time.sleep(poll)
        return frames


def leaked(frame):
    """The typed password characters on this frame, if any."""
    return sorted(set(c for c in frame if c in SECRET))


def password_trace(session, name, command, prompt, spacing=0.15):
    """Runs `command`, waits for `prompt`, types SECRET after a human pause and checks
    every frame; returns (frames checked, leaks: list of (time, chars, line))."""
    # Warm up: a command typed and echoed, so a line editor has been seen echoing.
    session.typed("echo warm\r", 0.05, tail=0.1)
    wait_for("the warm-up output", lambda: re.search(r"^warm\s*$", session.frame(), re.M), session.timeout)
    wait_for("the prompt", lambda: session.last_prompt_line() == "$", session.timeout)
    session.settle(0.5)
    session.typed(command + "\r", 0.03, tail=0.05)
    wait_for(f"the {name} prompt", lambda: prompt in session.frame(), session.timeout)
    session.settle(0.3)  # a person sees the prompt, then types
    leaks = []

    def watch(frame, now, key_index):
        if frame is not None and leaked(frame):
            lines = [l for l in frame.splitlines() if leaked(l)]
            leaks.append((now, leaked(frame), lines[0] if lines else ""))

    frames = session.typed(SECRET + "\r", spacing, watch=watch, tail=1.0 + 4 * session.delay_ms / 1000.0)
    want = f"len={len(SECRET)}"
    wait_for(f"{name} to read the password", lambda: want in session.frame(), session.timeout)
    return len(frames), leaks


PASSWORD_TRACES = [
    ("read -s", "read -s -p 'Password: ' pw; echo; echo len=${#pw}", "Password:"),
    ("stty -echo program", "sh -c 'stty -echo; printf \"Secret: \"; IFS= read -r pw; stty echo; echo; echo len=${#pw}'",
     "Secret:"),
    # sudo is not installed here, and as root it asks no password: a getpass prompt stands in
    # (it opens /dev/tty, turns echo off, prints the prompt, reads a line).
    ("sudo-like getpass", "python3 -c 'import getpass; p = getpass.getpass(\"[sudo] password for root: \"); "
     "print(\"len=%d\" % len(p))'", "[sudo] password for root:"),
]
