#!/usr/bin/env python3
"""Runs one libFuzzer target for a bounded time from its seed corpus and fails on any
crash, leak, timeout or out-of-memory report, and when it ran zero units.

The seeds stay read-only: libFuzzer writes what it finds into a temporary first corpus
directory, and a crashing input is kept (its path is printed) so it can be replayed
with `TARGET FILE`.

Usage: run_fuzz.py TARGET SEED_DIR [--seconds S]"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("target")
    ap.add_argument("seeds")
    ap.add_argument("--seconds", type=int, default=25)
    args = ap.parse_args()

    if not os.path.isdir(args.seeds) or not os.listdir(args.seeds):
        print(f"FAIL: no seed corpus in {args.seeds}")
        return 1
    work = tempfile.mkdtemp(prefix="mosh2-fuzz-")
    corpus, artifacts, tmp = (os.path.join(work, d) for d in ("corpus", "artifacts", "tmp"))
    for d in (corpus, artifacts, tmp):
        os.mkdir(d)
    # TMPDIR: whatever a target creates for itself goes away with the work directory.
    env = dict(os.environ, TMPDIR=tmp,
               ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    cmd = [args.target, f"-max_total_time={args.seconds}", "-timeout=10", "-rss_limit_mb=2048",
           "-print_final_stats=1", f"-artifact_prefix={artifacts}/", corpus, args.seeds]
    # The fuzzer stops itself after max_total_time; the margin covers loading the seeds.
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.seconds + 90)
    runs = [l for l in proc.stderr.splitlines() if l.startswith("stat::number_of_executed_units")]
    found = os.listdir(artifacts)
    if proc.returncode != 0 or found:
        print(proc.stderr[-6000:])
        print(f"FAIL: {os.path.basename(args.target)} exited {proc.returncode}; "
              f"reproducer(s) kept in {artifacts}: {found}")
        return 1
    # A target that ran nothing (it could not load, or returned at once for every input
    # before libFuzzer counted it) proves nothing: that is a failure too.
    units = int(runs[0].split(":")[-1].strip()) if runs else 0
    if units == 0:
        print(proc.stderr[-3000:])
        print(f"FAIL: {os.path.basename(args.target)} ran zero units "
              f"({'no' if not runs else 'a zero'} stat::number_of_executed_units line)")
        return 1
    print(f"ok: {os.path.basename(args.target)} for {args.seconds} s, {units} runs, no crash")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
