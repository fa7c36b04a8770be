#!/usr/bin/env python3
"""Predictive echo, stock Mosh against mosh2, side by side in one run (docs/display.md).

For each pairing (stock mosh-client + mosh-server; mosh2-client + mosh2-server), a live
session through test/support/udp_relay.py at --delay-ms each way (100: a 200 ms round
trip), bash on the server, the client in a tmux pane captured every few milliseconds:

* shell: 10 short commands, one key every 150 ms; after Enter the next command starts
  once its prompt is back and a person's pause (--pause) has passed.
* vim: vim -u NONE in insert mode, a paragraph of three lines typed one key every 150 ms.
* password traces (test/integration/prediction_traces.py): `read -s`, a program that turns
  ECHO off and reads a line, a getpass prompt standing in for sudo.

Per key that prints: time from sending the key (tmux send-keys) to the first captured
frame that shows it in place (spaces are not counted: a capture cannot see one until the
next key); the share under 20 ms; wrong frames (the line being typed
shows something that is not a prefix of what was typed); and, for the password traces,
frames with a typed password character (must be 0). The capture loop takes a few
milliseconds per frame, so times are upper bounds with that resolution.

Usage: bench/prediction_compare.py --build DIR [--mode adaptive] [--delay-ms 100]
Python 3 standard library; loopback only; every wait bounded."""

import argparse
import os
import re
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test", "integration"))

from interop import Failure, wait_for  # noqa: E402
from prediction_traces import PASSWORD_TRACES, Session, password_trace  # noqa: E402

VERBOSE = False
SHELL_COMMANDS = ["ls /", "pwd", "echo hi", "date", "true", "id -u", "uname", "cd /tmp", "echo ok", "ls -d /"]
VIM_LINES = ["the quick brown fox jumps over", "a lazy dog while typing on a", "slow link to a far server"]


def glyph_times(session, lines_for_key, keys, spacing, row_of, tail):
    """Types `keys`; for key i that prints, `lines_for_key(i)` = (row key, text the row
    must start with once it shows). Returns (times in ms per printing key, wrong frames)."""
    sent = {}
    seen = {}
    wrong = [0]
    last_wrong = [None]

    def watch(frame, now, key_index):
        if frame is None:
            sent[key_index] = now
            return
        for i in list(sent):
            if i in seen or lines_for_key(i) is None:
                continue
            row, want = lines_for_key(i)
            line = row_of(frame, row)
            if line is not None and line.startswith(want):
                seen[i] = now
        bad = row_of(frame, "check")
        if bad and bad != last_wrong[0]:
            wrong[0] += 1
        last_wrong[0] = bad

    session.typed(keys, spacing, watch=watch, tail=tail)
    times = [1000 * (seen[i] - sent[i]) for i in sorted(sent) if lines_for_key(i) is not None and i in seen]
    missed = sum(1 for i in sorted(sent) if lines_for_key(i) is not None and i not in seen)
    return times, wrong[0], missed


def shell_trace(session, spacing, pause):
    times, wrong, missed = [], 0, 0
    # Both pairings start from a shell that has already echoed a line, as in any session.
    session.typed("echo warm\r", 0.05, tail=0.1)
    wait_for("the warm-up output", lambda: re.search(r"^warm\s*$", session.frame(), re.M), session.timeout)
    for cmd in SHELL_COMMANDS:
        wait_for("the prompt", lambda: session.last_prompt_line() == "$", session.timeout)
        session.settle(pause)
        keys = cmd + "\r"

        def lines_for_key(i, cmd=cmd):
            # A space shows nothing a capture can see until the next key: not counted.
            return ("prompt", "$ " + cmd[: i + 1]) if i < len(cmd) and cmd[i] != " " else None

        def row_of(frame, row, cmd=cmd):
            line = session.last_prompt_line(frame)
            if row == "prompt":
                return line
            typed = line[2:] if line.startswith("$ ") else ""
            return typed if typed and not cmd.startswith(typed) else None

        t, w, m = glyph_times(session, lines_for_key, keys, spacing, row_of, tail=0.4)
        if VERBOSE:
            print(f"  {cmd!r}: " + " ".join(f"{x:.0f}" for x in t), flush=True)
        times += t
        wrong += w
        missed += m
    return times, wrong, missed


def vim_trace(session, spacing, pause):
    wait_for("the prompt", lambda: session.last_prompt_line() == "$", session.timeout)
    session.typed("vim -u NONE -N -i NONE /tmp/mosh2-bench-vim.txt\r", 0.03, tail=0.2)
    wait_for("vim", lambda: "mosh2-bench-vim.txt" in session.frame() or "~" in session.frame(), session.timeout)
    session.settle(1.0)
    session.typed("i", 0.0, tail=0.1)
    wait_for("insert mode", lambda: "INSERT" in session.frame(), session.timeout)
    session.settle(pause)
    text = "\r".join(VIM_LINES)
    index = []  # per key: (line, column) or None for Enter
    line, col = 0, 0
    for ch in text:
        if ch == "\r":
            index.append(None)
            line, col = line + 1, 0
        else:
            index.append((line, col))
            col += 1

    def lines_for_key(i):
        if index[i] is None or text[i] == " ":
            return None
        l, c = index[i]
        return (l, VIM_LINES[l][: c + 1])

    def row_of(frame, row):
        rows = frame.splitlines()
        if row == "check":
            for l, want in enumerate(VIM_LINES):
                got = rows[l].rstrip() if l < len(rows) else ""
                if got and got != "~" and not want.startswith(got):
                    return f"{l}:{got}"
            return None
        return rows[row] if row < len(rows) else None

    t, w, m = glyph_times(session, lines_for_key, text, spacing, row_of, tail=0.6)
    session.typed("\x1b", 0.0, tail=0.2)
    session.typed(":q!\r", 0.05, tail=0.3)
    return t, w, m


def summary(times):
    if not times:
        return "no keys"
    under = sum(1 for t in times if t < 20) / len(times)
    return (f"{len(times):3d} keys  median {statistics.median(times):6.0f} ms  "
            f"under 20 ms {100 * under:5.1f} %  max {max(times):5.0f} ms")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--mode", default="adaptive")
    ap.add_argument("--delay-ms", type=int, default=100)
    ap.add_argument("--spacing", type=float, default=0.15, help="seconds between keys")
    ap.add_argument("--pause", type=float, default=0.5, help="seconds after a prompt before typing")
    ap.add_argument("--pairings", default="stock,mosh2")
    ap.add_argument("--traces", default="shell,vim,password")
    ap.add_argument("--verbose", action="store_true", help="print each line's times")
    args = ap.parse_args()
    global VERBOSE
    VERBOSE = args.verbose
    traces = args.traces.split(",")
    rows = []
    for kind in args.pairings.split(","):
        label = f"{kind} client + {kind} server"
        try:
            if "shell" in traces:
                with Session(kind, kind, args.build, args.mode, args.delay_ms) as s:
                    t, w, m = shell_trace(s, args.spacing, args.pause)
                rows.append((label, "shell", summary(t), f"wrong frames {w}", f"never shown {m}"))
            if "vim" in traces:
                with Session(kind, kind, args.build, args.mode, args.delay_ms) as s:
                    t, w, m = vim_trace(s, args.spacing, args.pause)
                rows.append((label, "vim insert", summary(t), f"wrong frames {w}", f"never shown {m}"))
            if "password" in traces:
                for name, command, prompt in PASSWORD_TRACES:
                    with Session(kind, kind, args.build, args.mode, args.delay_ms) as s:
                        n, leaks = password_trace(s, name, command, prompt, spacing=args.spacing)
                    rows.append((label, name, f"{n} frames", f"password characters shown on {len(leaks)} frames", ""))
        except Failure as e:
            rows.append((label, "FAILED", str(e), "", ""))
        for r in rows:
            if r[0] == label:
                print("  ".join(r), flush=True)
    print()
    print(f"# {args.mode}, {2 * args.delay_ms} ms round trip, a key every {1000 * args.spacing:.0f} ms")
    for r in rows:
        print(f"{r[0]:28s} {r[1]:20s} {r[2]}  {r[3]}  {r[4]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
