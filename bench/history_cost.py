#!/usr/bin/env python3
"""The history's cost in instructions: the server's emulator with its history at the
default against the same with --history 0, side by side in one run (issue #18).

CPU time on a shared VM varies by +-20 % from run to run; instruction counts do not.
For each workload this runs `valgrind --tool=callgrind` on

    bench-emulator --feed WORKLOAD --history 0
    bench-emulator --feed WORKLOAD --history 10000

bench-emulator feeds the workload twice into one emulator (as a server keeps one for its
session, so the second feed meets a full history) and callgrind counts only the second
(--toggle-collect=*counted_feed*). The workloads are bench-emulator's own plain and
coloured ones and, through `--feed file:PATH` at 80x24, the exact bytes of
server_compare.py's plain (seq) and coloured (ls -lR --color) streams.

    python3 bench/history_cost.py [--emulator build/bench/bench-emulator] [--scale S]

Prints instructions (Ir) per workload, with the history off and on, and on/off. Needs
valgrind: without it the script stops with exit status 1 (it never skips).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import server_compare  # noqa: E402  (bench/server_compare.py: its workload generators)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def instructions(valgrind, emulator, feed, history, tmp):
    out = os.path.join(tmp, "callgrind.out")
    p = subprocess.run([valgrind, "--tool=callgrind", f"--callgrind-out-file={out}",
                        "--toggle-collect=*counted_feed*", emulator, "--feed", feed,
                        "--history", str(history)],
                       capture_output=True, text=True, timeout=1200)
    m = re.search(r"Collected : (\d+)", p.stderr)
    if p.returncode != 0 or not m:
        raise RuntimeError(f"callgrind on {feed} failed: {p.stderr.strip()[-300:]}")
    os.unlink(out)
    return int(m.group(1))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--emulator", default=os.path.join(ROOT, "build-release", "bench", "bench-emulator"))
    ap.add_argument("--valgrind", default=shutil.which("valgrind") or "/usr/bin/valgrind")
    ap.add_argument("--history", type=int, default=10000, help="the history when on (default 10000)")
    ap.add_argument("--scale", type=float, default=0.25,
                    help="size of server_compare.py's streams (default 0.25: seq 1 100000, 0.8 MB of ls)")
    args = ap.parse_args(argv)
    for what, path in (("valgrind", args.valgrind), ("bench-emulator", args.emulator)):
        if not os.access(path, os.X_OK):
            print(f"history_cost: no {what} at {path}", file=sys.stderr)
            return 1
    with tempfile.TemporaryDirectory(prefix="mosh2-history-cost-") as tmp:
        feeds = [("plain", "plain (seq 1 200000, 80x24)"), ("coloured", "coloured (SGR, 120x40)")]
        for name, gen in (("plain", server_compare.gen_plain), ("coloured", server_compare.gen_coloured)):
            path = os.path.join(tmp, name + ".bytes")
            with open(path, "wb") as f:
                f.write(gen(args.scale))
            label = "server_compare " + name
            feeds.append((f"file:{path}", f"{label} ({os.path.getsize(path) / 1e6:.1f} MB, 80x24)"))
        print(f"{'workload (server emulator)':42} {'off Ir':>13} {'on Ir':>13} {'on/off':>7}")
        worst = 0.0
        for feed, label in feeds:
            try:
                off = instructions(args.valgrind, args.emulator, feed, 0, tmp)
                on = instructions(args.valgrind, args.emulator, feed, args.history, tmp)
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                print(f"history_cost: {e}", file=sys.stderr)
                return 1
            worst = max(worst, on / off)
            print(f"{label:42} {off:13,d} {on:13,d} {on / off:7.3f}", flush=True)
    print(f"\ninstructions of the second feed into one emulator (callgrind); off: --history 0, "
          f"on: --history {args.history}; worst on/off {worst:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
