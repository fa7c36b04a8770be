#!/usr/bin/env python3
"""run_fuzz.py must fail a target that ran zero units (or printed no count of them),
as well as one that crashed, and pass one that ran. Stand-in targets are small Python
scripts that print what libFuzzer would.

Usage: run_fuzz_selftest.py RUN_FUZZ"""

import os
import subprocess
import sys
import tempfile


def fake_target(folder, name, body):
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write(f"#!{sys.executable}\nimport sys\n{body}\n")
    os.chmod(path, 0o755)
    return path


def main():
    run_fuzz = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="mosh2-run-fuzz-") as d:
        seeds = os.path.join(d, "seeds")
        os.mkdir(seeds)
        open(os.path.join(seeds, "seed"), "w").write("x")
        cases = {
            "ran": ("sys.stderr.write('stat::number_of_executed_units: 1234\\n')", 0),
            "zero-units": ("sys.stderr.write('stat::number_of_executed_units: 0\\n')", 1),
            "no-count": ("pass", 1),
            "crashed": ("sys.stderr.write('stat::number_of_executed_units: 9\\n'); sys.exit(77)", 1),
        }
        failed = []
        for name, (body, expected) in cases.items():
            target = fake_target(d, name, body)
            # TMPDIR: the runner keeps a failing target's work directory; let it go with ours.
            p = subprocess.run([sys.executable, run_fuzz, target, seeds, "--seconds", "1"],
                               env=dict(os.environ, TMPDIR=d), capture_output=True, text=True, timeout=120)
            print(f"{name}: exit {p.returncode} (want {expected}): {p.stdout.strip().splitlines()[-1:]}")
            if p.returncode != expected:
                failed.append(name)
        if failed:
            print(f"FAIL: run_fuzz.py judged {failed} wrongly")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
