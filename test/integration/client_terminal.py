#!/usr/bin/env python3
"""mosh2-client's own terminal, live: what it draws during an outage, and what it leaves
behind when it exits. mosh2-server on 127.0.0.1, the client in a tmux pane, through the
test relay.

Before the client starts, the pane prints a line on its main screen and the test saves
the pane's terminal settings. In the session the test turns on the modes a program can
ask for (mouse reporting in three flavours, SGR mouse encoding, a hidden cursor, bracketed
paste) and checks that the pane shows them, so that "off afterwards" means something.

* --outage S: the relay drops everything for S seconds (SIGUSR1). Within S seconds the
  notification bar must appear on the top row, in the client's words ("mosh: Last
  contact N seconds ago."), with N counting up; once the link is back it must go away by
  itself, and typing must work again.
* --exit WAY, how the client ends:
  exit           `exit` in the session's shell: the server ends the session; status 0.
  escape         Ctrl-^ . : the client quits; status 0.
  sigterm/sighup the signal to the client, with the server alive: it ends the session
                 with the server (which exits too); status 0.
  server-killed  SIGKILL to the server. The client never exits by itself then: like
                 mosh-client it waits for the server to come back, showing the bar. The
                 test checks that it is still running after the bar appeared, then sends
                 SIGHUP (a closed terminal window), and the client must give up waiting
                 for the server's goodbye and exit, status 1 (the session did not end
                 cleanly).

After the exit, whatever the way: the pane is on its main screen again with the line
from before (and none of the session), the cursor is visible, no mouse mode or encoding
is on, the cursor keys and keypad are in normal mode, insert and origin mode are off, the
terminal settings (stty -g) are the ones from before, the terminal is not left
non-blocking (O_NONBLOCK), and a paste arrives without bracketed-paste markers (the
pane runs `cat -v` after the client to see them).

Usage: client_terminal.py --build DIR --exit WAY [--outage S]
Exits 0 on success, 1 with a reason. Every wait is bounded."""

import argparse
import os
import re
import shlex
import signal
import sys
import tempfile
import time

from interop import (Failure, Tmux, alive, need, parent_pid, start_relay, start_server, stop_relay, tear_down,
                     wait_for)

BAR = re.compile(r"^mosh: Last contact (\d+) seconds? ago\.")
# (format variable, value during the session, value after the exit); None: not checked
# during the session (the client does not pass that mode through, so it was never on).
FLAGS = [
    ("alternate_on", "1", "0"),
    ("cursor_flag", "0", "1"),
    ("mouse_any_flag", "1", "0"),
    ("mouse_standard_flag", None, "0"),
    ("mouse_button_flag", None, "0"),
    ("mouse_all_flag", "1", "0"),
    ("mouse_sgr_flag", "1", "0"),
    ("mouse_utf8_flag", None, "0"),
    ("keypad_cursor_flag", "1", "0"),
    ("keypad_flag", None, "0"),
    ("insert_flag", None, "0"),
    ("origin_flag", None, "0"),
]
# Modes for the session: hidden cursor, mouse 1000, 1002 and 1003 (the last one wins in
# the pane), SGR encoding, bracketed paste.
MODES_ON = r"\033[?25l\033[?1000h\033[?1002h\033[?1003h\033[?1006h\033[?2004h"


# Run in the pane after the client: whether the terminal (stdin) is still non-blocking.
# Then blocking again, so that the paste check after it can still run.
NONBLOCK_PROBE = ("import fcntl, os; f = fcntl.fcntl(0, fcntl.F_GETFL); "
                  "print('non-blocking' if f & os.O_NONBLOCK else 'blocking'); "
                  "fcntl.fcntl(0, fcntl.F_SETFL, f & ~os.O_NONBLOCK)")


def flags(tmux):
    fmt = "|".join(f"#{{{name}}}" for name, _, _ in FLAGS)
    values = tmux.run("display-message", "-p", fmt).stdout.strip().split("|")
    return dict(zip([name for name, _, _ in FLAGS], values))


def top_row(tmux):
    lines = tmux.screen().splitlines()
    return lines[0] if lines else ""


def client_pid(tmux, exe):
    """The client: the process below the pane's shell running `exe`."""
    pane = int(tmux.run("display-message", "-p", "#{pane_pid}").stdout.strip())
    for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
        if parent_pid(pid) != pane:
            continue
        try:
            if os.path.realpath(f"/proc/{pid}/exe") == os.path.realpath(exe):
                return pid
        except OSError:
            continue
    return None


def watch_outage(tmux, relay, seconds, timeout):
    """Cuts the link for `seconds` and follows the bar: it appears, counts, and goes."""
    tmux.keys("clear; echo before-outage", "Enter")
    wait_for("output before the outage", lambda: re.search(r"^before-outage\s*$", tmux.screen(), re.M), timeout)
    start = time.monotonic()
    relay.send_signal(signal.SIGUSR1)
    first = wait_for("the notification bar on the top row", lambda: BAR.match(top_row(tmux)), 6.5 + timeout)
    shown = time.monotonic() - start
    n0 = int(first.group(1))
    if n0 < 6:
        raise Failure(f"the bar says {first.group(0)!r} {shown:.1f} s into the outage: "
                      "the client speaks of contact lost sooner than the 6.5 s it waits")
    # The count must go up while the bar is still there, however long that takes.
    def counted_or_gone():
        m = BAR.match(top_row(tmux))
        return ("counted", m) if m and int(m.group(1)) > n0 else ("gone", None) if not m else None
    how, later = wait_for("the bar's count to go up", counted_or_gone,
                          max(0.0, start + seconds - time.monotonic()) + timeout)
    if how == "gone":
        raise Failure(f"the bar went away still saying {first.group(0)!r}: its count never went up")
    gone = wait_for("the bar to go away after the outage", lambda: not BAR.match(top_row(tmux)),
                    max(0.0, start + seconds - time.monotonic()) + timeout)
    back = time.monotonic() - start
    if back < seconds:
        raise Failure(f"the bar went away {back:.1f} s into a {seconds:g} s outage")
    tmux.keys("echo after-outage-$((6*7))", "Enter")
    wait_for("output after the outage", lambda: re.search(r"^after-outage-42\s*$", tmux.screen(), re.M), timeout)
    print(f"outage {seconds:g} s: bar {first.group(0)!r} after {shown:.1f} s, then {later.group(0)!r}; "
          f"gone {back - seconds:.1f} s after the link came back; typing works" + ("" if gone else ""))


def check_restored(tmux, home, saved_stty):
    problems = []
    now = flags(tmux)
    for name, _, after in FLAGS:
        if now.get(name) != after:
            problems.append(f"#{{{name}}} is {now.get(name)}, expected {after}")
    screen = tmux.screen()
    if not re.search(r"^before-client\s*$", screen, re.M):
        problems.append("the line printed before the client is not on the screen: not the main screen")
    if "modes-set" in screen:
        problems.append("the session's text is still on the screen")
    with open(os.path.join(home, "stty-after")) as f:
        after_stty = f.read().strip()
    if after_stty != saved_stty:
        problems.append(f"terminal settings (stty -g) changed: {saved_stty} before, {after_stty} after")
    with open(os.path.join(home, "flags-after")) as f:
        blocking = f.read().strip() == "blocking"
    if not blocking:
        problems.append("the terminal's file status flags have O_NONBLOCK set: the client left its stdin "
                        "non-blocking, and the next program to read the terminal gets EAGAIN")
    # The pane now runs `cat -v` (the probe made the terminal blocking again, if need be):
    # a paste shows whether bracketed paste is still on.
    done = os.path.join(home, "pasted-done")
    if os.path.exists(done):
        with open(os.path.join(home, "pasted")) as f:
            problems.append(f"`cat` after the client could not read the terminal: {f.read().strip()!r}")
    else:
        tmux.run("set-buffer", "pasted-text")
        tmux.run("paste-buffer", "-p")
        tmux.keys("Enter")
        tmux.keys("C-d")
        wait_for("`cat` to end", lambda: os.path.exists(done), 10)
        with open(os.path.join(home, "pasted")) as f:
            pasted = f.read()
        if "pasted-text" not in pasted:
            problems.append(f"the paste did not arrive: {pasted!r}")
        elif "[200~" in pasted or "[201~" in pasted:
            problems.append(f"bracketed paste is still on: cat -v saw {pasted.strip()!r}")
    if problems:
        raise Failure("the terminal was not restored: " + "; ".join(problems) + f"\nscreen:\n{screen}")
    print("restored: main screen with the line from before, cursor visible, no mouse mode, normal cursor keys "
          "and keypad, terminal settings as before, no bracketed paste")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--exit", choices=["exit", "escape", "sigterm", "sighup", "server-killed"], required=True)
    ap.add_argument("--outage", type=float, default=0.0, metavar="S")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds allowed for each screen check")
    args = ap.parse_args()
    try:
        need("tmux")
    except Failure as e:
        print(f"FAIL: {e}")
        return 1
    home = tempfile.mkdtemp(prefix="mosh2-client-terminal-")
    status_dir = os.path.join(home, "status")
    env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="xterm-256color", HOME=home, SHELL="/bin/sh",
               PS1="$ ", MOSH2_STATUS_DIR=status_dir)
    tmux = Tmux(80, 24)
    relay = None
    server_pid = None
    exe = os.path.join(args.build, "tools", "mosh2-client")
    try:
        port, key, server_pid = start_server("mosh2", args.build, env)
        relay, relay_port = start_relay("127.0.0.1", port, ["--blackout-on-signal", str(args.outage or 1)])
        q = shlex.quote
        exit_file, stty_before = os.path.join(home, "client-exit"), os.path.join(home, "stty-before")
        # The pane: a line on the main screen, the settings saved, the client; then its exit
        # status, the settings again, and `cat -v` to catch a bracketed paste.
        tmux.start(f"printf 'before-client\\n'; stty -g > {q(stty_before)}; "
                   # --no-history: with the history the session draws on the main screen
                   # and leaves its last screen there (scrollback.py covers that); this
                   # checks the alternate screen's restore, as Mosh 1.4 does it.
                   f"env MOSH_KEY={key} HOME={q(home)} MOSH2_STATUS_DIR={q(status_dir)} {q(exe)} --no-history 127.0.0.1 "
                   f"{relay_port}; echo $? > {q(exit_file)}; stty -g > {q(os.path.join(home, 'stty-after'))}; "
                   f"{q(sys.executable)} -c {q(NONBLOCK_PROBE)} > {q(os.path.join(home, 'flags-after'))}; "
                   f"cat -v > {q(os.path.join(home, 'pasted'))} 2>&1; touch {q(os.path.join(home, 'pasted-done'))}")
        wait_for("the shell prompt", lambda: re.search(r"^[$#]( |$)", tmux.screen(), re.M), args.timeout)
        with open(stty_before) as f:
            saved_stty = f.read().strip()
        client = wait_for("the client process", lambda: client_pid(tmux, exe), 5)

        tmux.keys(f"printf '{MODES_ON}'; echo modes-set", "Enter")
        wait_for("the modes in the pane", lambda: all(v is None or flags(tmux)[n] == v for n, v, _ in FLAGS)
                 and re.search(r"^modes-set\s*$", tmux.screen(), re.M), args.timeout)
        print(f"session modes on in the pane: {flags(tmux)}")

        if args.outage:
            watch_outage(tmux, relay, args.outage, args.timeout)

        want_status = "0"
        if args.exit == "exit":
            tmux.keys("exit", "Enter")
        elif args.exit == "escape":
            tmux.hex(0x1E)
            tmux.keys(".")
        elif args.exit in ("sigterm", "sighup"):
            os.kill(client, signal.SIGTERM if args.exit == "sigterm" else signal.SIGHUP)
        else:
            os.kill(server_pid, signal.SIGKILL)
            killed = time.monotonic()
            wait_for("the notification bar after the server was killed", lambda: BAR.match(top_row(tmux)),
                     6.5 + args.timeout)
            if not alive(client):
                raise Failure("the client exited by itself after the server was killed")
            print(f"server killed: {top_row(tmux).strip()!r} after {time.monotonic() - killed:.1f} s, "
                  "the client still running; SIGHUP to it")
            os.kill(client, signal.SIGHUP)
            want_status = "1"
        status = wait_for("the client to exit", lambda: os.path.exists(exit_file) and open(exit_file).read().strip(),
                          args.timeout)
        if status != want_status:
            raise Failure(f"the client exited with status {status}, expected {want_status}")
        wait_for("the server to exit", lambda: not alive(server_pid), args.timeout)
        print(f"{args.exit}: the client exited with status {status}; the server is gone")
        wait_for("the terminal's state after the exit", lambda: os.path.exists(os.path.join(home, "flags-after"))
                 and open(os.path.join(home, "flags-after")).read().endswith("\n"), 10)
        check_restored(tmux, home, saved_stty)
        stop_relay(relay)
        print(f"ok: mosh2-client, exit by {args.exit}" + (f", after a {args.outage:g} s outage" if args.outage else ""))
        return 0
    except Failure as e:
        print(f"FAIL: {args.exit}: {e}")
        print("screen:\n" + tmux.screen())
        return 1
    finally:
        tear_down(tmux, relay, server_pid, home)


if __name__ == "__main__":
    sys.exit(main())
