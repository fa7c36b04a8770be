#!/usr/bin/env python3
"""`meson install --destdir` of this build: every program, man page and bash completion
file lands where the build says, the programs run from there, and the completion file
parses and registers a completion for each program.

Usage: install_destdir.py --build DIR --prefix P --bindir B --mandir M --completions C
(B, M and C relative to P, as Meson's options are). Exits 0 on success, 1 with a reason."""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

PROGRAMS = ["mosh2", "mosh2-server", "mosh2-client", "mosh2-status"]


def main():
    ap = argparse.ArgumentParser()
    for name in ("build", "prefix", "bindir", "mandir", "completions"):
        ap.add_argument("--" + name, required=True)
    args = ap.parse_args()

    meson = shutil.which("meson")
    if meson is None:
        print("FAIL: meson is not on PATH (tools/install-deps installs it)")
        return 1
    dest = tempfile.mkdtemp(prefix="mosh2-install-")
    try:
        proc = subprocess.run([meson, "install", "-C", args.build, "--no-rebuild", "--quiet", "--destdir", dest],
                              capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            print(f"FAIL: meson install exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
            return 1
        root = os.path.join(dest, args.prefix.lstrip("/"))
        expected = [os.path.join(args.bindir, p) for p in PROGRAMS]
        expected += [os.path.join(args.mandir, "man1", p + ".1") for p in PROGRAMS]
        expected += [os.path.join(args.completions, p) for p in PROGRAMS]
        missing = [e for e in expected if not os.path.isfile(os.path.join(root, e))]
        if missing:
            found = sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)
            print(f"FAIL: not installed: {missing}\ninstalled: {found}")
            return 1
        for p in PROGRAMS:
            exe = os.path.join(root, args.bindir, p)
            if not os.access(exe, os.X_OK):
                print(f"FAIL: {exe} is not executable")
                return 1
            run = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10)
            if run.returncode != 0 or "mosh2" not in run.stdout:
                print(f"FAIL: installed {p} --version: status {run.returncode}, {run.stdout!r} {run.stderr!r}")
                return 1
        # Each completion file is the same script; sourced alone (without bash-completion),
        # it must parse and register one completion function per program.
        for p in PROGRAMS:
            script = os.path.join(root, args.completions, p)
            check = subprocess.run(["bash", "--norc", "--noprofile", "-c",
                                    f'source "$1" && complete -p {p}', "bash", script],
                                   capture_output=True, text=True, timeout=10)
            if check.returncode != 0 or f" {p}" not in check.stdout:
                print(f"FAIL: completion file for {p}: status {check.returncode}, "
                      f"{check.stdout!r} {check.stderr!r}")
                return 1
        print(f"ok: {len(expected)} files installed under {args.prefix} in a temporary destdir")
        return 0
    finally:
        shutil.rmtree(dest, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
