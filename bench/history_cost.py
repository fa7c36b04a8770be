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

With --server, the whole mosh2-server instead, as the issue words its bound: the same
run as server_compare.py --history-cost (a stock mosh-client on a pty at 80x24, the
counting relay, `cat` of the workload in the server's pty, the server kept up to date
while the output streams), with the server daemon under callgrind; its total Ir, from
start to its exit after the output (startup, every frame, the emulator, the history),
for --history 0, --history 10000 and --baseline SERVER (say, a build of main), runs
interleaved. Frames depend on timing, so these counts vary a little from run to run
(the spread is printed); the emulator's share does not.

    python3 bench/history_cost.py --server [--mosh2-server build/tools/mosh2-server]
        [--baseline /work/main/build/tools/mosh2-server] [--scale 1] [--repeats 3]

Prints instructions (Ir) per workload, with the history off and on, and on/off. Needs
valgrind: without it the script stops with exit status 1 (it never skips).
"""

import argparse
import os
import re
import shutil
import statistics
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


def server_instructions(valgrind, server, client, path, tmp, timeout):
    """(total Ir, Ir inside emulator::write) of one mosh2-server daemon (argv `server`)
    through server_compare's run."""
    wrapper = [valgrind, "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.%p",
               f"--log-file={tmp}/vg.%p"]
    r = server_compare.measure(server, client, path, 80, 24, tmp, timeout, wrapper=wrapper, grace=30)
    out = os.path.join(tmp, f"cg.{r['pid']}")
    if not os.path.exists(out):
        raise RuntimeError(f"no callgrind output from the server daemon (pid {r['pid']}): did it exit "
                           "within 30 s of SIGTERM?")
    annotate = shutil.which("callgrind_annotate") or "/usr/bin/callgrind_annotate"
    p = subprocess.run([annotate, "--inclusive=yes", "--threshold=100", out],
                       capture_output=True, text=True, timeout=300)
    total = re.search(r"^\s*([\d,]+) .*PROGRAM TOTALS", p.stdout, re.M)
    emulator = re.search(r"^\s*([\d,]+) .*mosh2::terminal::emulator::write\(", p.stdout, re.M)
    if p.returncode != 0 or not total or not emulator:
        raise RuntimeError(f"callgrind_annotate on {out} failed: {p.stderr.strip()[-300:]}")
    for name in os.listdir(tmp):
        if name.startswith(("cg.", "vg.")):
            os.unlink(os.path.join(tmp, name))
    return int(total.group(1).replace(",", "")), int(emulator.group(1).replace(",", ""))


def main_server(args, tmp):
    servers = [("off", [args.mosh2_server, "--history", "0"]),
               ("on", [args.mosh2_server, "--history", str(args.history)])]
    if args.baseline:
        servers.append(("base", [args.baseline]))
    names = [n for n, _ in servers]
    print(f"{'workload (whole mosh2-server)':34} " + " ".join(f"{n + ' Ir':>13}" for n in names) +
          f" {'spread':>7} {'on/off':>7}" + (f" {'on/base':>7}" if args.baseline else "") +
          f" {'fixed':>7} {'emul.':>7}")
    worst = 0.0
    for name, label, gen in server_compare.WORKLOADS:
        if name not in ("plain", "coloured"):
            continue
        data = gen(args.scale)
        path = os.path.join(tmp, name + ".bytes")
        with open(path, "wb") as f:
            f.write(data + server_compare.RESET_TAIL)
        runs = {n: [] for n in names}
        for rep in range(args.repeats):
            for n, argv in servers:
                try:
                    runs[n].append(server_instructions(args.valgrind, argv, args.client, path, tmp,
                                                       args.timeout))
                except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                    raise RuntimeError(f"{name}, {n} run {rep + 1}: {e}") from e
                if args.verbose:
                    print(f"  {name} {n} #{rep + 1}: total {runs[n][-1][0]:,}, emulator {runs[n][-1][1]:,}",
                          file=sys.stderr, flush=True)
        total = {n: statistics.median(t for t, _ in runs[n]) for n in names}
        emul = {n: statistics.median(e for _, e in runs[n]) for n in names}
        # The widest run-to-run spread of the totals, relative to the median.
        spread = max((max(t for t, _ in runs[n]) - min(t for t, _ in runs[n])) / total[n] for n in names)
        # The history changes only the emulator's work (a stock client gets no history
        # stream), and that work is the same in every run: the off server's median total
        # plus what the history adds to the emulator is the on server without the noise.
        fixed = (total["off"] + emul["on"] - emul["off"]) / total["off"]
        if name == "plain":
            worst = fixed
        print(f"{label + f' {len(data) / 1e6:.1f} MB':34} " + " ".join(f"{total[n]:13,.0f}" for n in names) +
              f" {spread:7.1%} {total['on'] / total['off']:7.3f}" +
              (f" {total['on'] / total['base']:7.3f}" if args.baseline else "") +
              f" {fixed:7.3f} {emul['on'] / emul['off']:7.3f}", flush=True)
        print(f"{'  of which emulator::write':34} " + " ".join(f"{emul[n]:13,.0f}" for n in names), flush=True)
    print(f"\nwhole mosh2-server daemon instructions (callgrind, from its start to its exit), median of "
          f"{args.repeats}, runs interleaved; off: --history 0, on: --history {args.history}"
          + (", base: --baseline" if args.baseline else "") + "; 80x24, stock mosh-client.\n"
          "spread: (max - min) / median of the least steady server's totals (the frames depend on "
          "timing, and callgrind's slowness means more of them than natively); on/off: the medians; "
          "fixed: (off total + on emulator - off emulator) / off total, the same without the frames' "
          "noise; emul.: emulator::write alone, on/off (the bound the whole server's ratio stays under)")
    print(f"issue #18's bound (seq, history on within 10 % of off): {'met' if worst <= 1.10 else 'NOT met'} "
          f"(fixed on/off {worst:.3f})")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--emulator", default=os.path.join(ROOT, "build-release", "bench", "bench-emulator"))
    ap.add_argument("--valgrind", default=shutil.which("valgrind") or "/usr/bin/valgrind")
    ap.add_argument("--history", type=int, default=10000, help="the history when on (default 10000)")
    ap.add_argument("--scale", type=float,
                    help="size of server_compare.py's streams (default 0.25: seq 1 100000, 0.8 MB of ls; "
                    "with --server 1: seq 1 400000, 3 MB of ls)")
    ap.add_argument("--server", action="store_true", help="the whole mosh2-server, through a session")
    ap.add_argument("--mosh2-server", default=os.path.join(ROOT, "build-release", "tools", "mosh2-server"))
    ap.add_argument("--baseline", metavar="SERVER", help="with --server, a third mosh2-server (say, main's)")
    ap.add_argument("--client", default=shutil.which("mosh-client") or "/usr/bin/mosh-client")
    ap.add_argument("--repeats", type=int, default=3, help="with --server, runs per server (median)")
    ap.add_argument("--timeout", type=float, default=600, help="with --server, seconds per run")
    ap.add_argument("--verbose", action="store_true", help="with --server, print every run")
    args = ap.parse_args(argv)
    if args.scale is None:
        args.scale = 1.0 if args.server else 0.25
    if args.server:
        needed = [("valgrind", args.valgrind), ("mosh2-server", args.mosh2_server), ("mosh-client", args.client)]
        needed += [("baseline mosh2-server", args.baseline)] if args.baseline else []
        for what, path in needed:
            if not os.access(path, os.X_OK):
                print(f"history_cost: no {what} at {path}", file=sys.stderr)
                return 1
        server_compare.set_child_subreaper()
        with tempfile.TemporaryDirectory(prefix="mosh2-history-cost-") as tmp:
            try:
                return main_server(args, tmp)
            except RuntimeError as e:
                print(f"history_cost: {e}", file=sys.stderr)
                return 1
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
