#!/usr/bin/env python3
"""No typed password character ever on screen, live (docs/protocol.md, "terminal_mode").

A client in a tmux pane reaches a server through the test relay at --delay-ms each way
(100: a 200 ms round trip), bash on the server. For each password trace (`read -s`, a
program that turns ECHO off and reads a line, a getpass prompt standing in for sudo) the
test runs a warm-up command (so the shell's line editor has been seen echoing, the case
where the first key of a line is shown at once), starts the trace, waits for its prompt,
and types the password one key every 150 ms while capturing the pane every few
milliseconds; any password character on any frame fails the test. The program must then
report the password's length, so the keys did arrive.

Usage: prediction_password.py --client mosh2|stock --server mosh2|stock --build DIR
                              [--mode adaptive|always] [--delay-ms 100]
Exits 0 on success, 1 with a reason. Every wait is bounded."""

import argparse
import sys

from interop import Failure
from prediction_traces import PASSWORD_TRACES, Session, password_trace


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--client", choices=["stock", "mosh2"], default="mosh2")
    ap.add_argument("--server", choices=["stock", "mosh2"], default="mosh2")
    ap.add_argument("--build", required=True)
    ap.add_argument("--mode", choices=["adaptive", "always", "experimental"], default="adaptive")
    ap.add_argument("--delay-ms", type=int, default=100)
    ap.add_argument("--timeout", type=float, default=30.0)
    args = ap.parse_args()
    pairing = f"{args.client} client <-> {args.server} server, {args.mode}, {2 * args.delay_ms} ms round trip"
    failed = False
    for name, command, prompt in PASSWORD_TRACES:
        try:
            with Session(args.client, args.server, args.build, args.mode, args.delay_ms, timeout=args.timeout) as s:
                n, leaks = password_trace(s, name, command, prompt)
                if leaks:
                    t0 = leaks[0][0]
                    raise Failure(f"{name}: password characters {leaks[0][1]} on {len(leaks)} of {n} frames; "
                                  f"first: {leaks[0][2]!r} (over {1000 * (leaks[-1][0] - t0):.0f} ms)")
                print(f"ok: {pairing}: {name}: {n} frames captured, no password character on any")
        except Failure as e:
            print(f"FAIL: {pairing}: {e}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
