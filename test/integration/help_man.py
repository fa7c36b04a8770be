#!/usr/bin/env python3
"""Each program's --help lists the same options as the OPTIONS section of its man page:
mosh2, mosh2-server, mosh2-client and mosh2-status. Options are taken generically (every
`-x` and `--name` word in the --help text, and in the head line of each `.TP` entry of
the man page's OPTIONS section), so the test follows both as they change; a missing or
extra option on either side fails with the difference.

Usage: help_man.py --build DIR --source DIR
Exits 0 when every program agrees, 1 with the differences."""

import argparse
import os
import re
import subprocess
import sys

PROGRAMS = ["mosh2", "mosh2-server", "mosh2-client", "mosh2-status"]
LONG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
SHORT = re.compile(r"(?<![\w-])-[A-Za-z0-9#@](?![\w-])")


def options_in(text):
    return set(LONG.findall(text)) | set(SHORT.findall(text))


def plain_roff(line):
    """A roff line as text: escapes of dashes and fonts removed, macro names dropped."""
    line = line.replace("\\-", "-").replace("\\(em", "-")
    line = re.sub(r"\\f[A-Z]", "", line)
    line = re.sub(r"^\.[A-Z]+\s*", "", line)
    return line.replace('"', " ")


def man_options(path):
    """The options named in the head lines (the line after each .TP) of OPTIONS."""
    lines = open(path).read().splitlines()
    found, in_options, head_next = set(), False, False
    for line in lines:
        if line.startswith(".SH"):
            in_options = line.split(None, 1)[1:] == ["OPTIONS"]
            continue
        if not in_options:
            continue
        if line.startswith(".TP"):
            head_next = True
            continue
        if head_next:
            found |= options_in(plain_roff(line))
            head_next = False
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--source", required=True)
    args = ap.parse_args()
    problems = []
    for program in PROGRAMS:
        exe = os.path.join(args.build, "tools", program)
        proc = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=10)
        if proc.returncode != 0 or not proc.stdout:
            problems.append(f"{program} --help: exit {proc.returncode}, stdout {proc.stdout!r}")
            continue
        helped = options_in(proc.stdout)
        documented = man_options(os.path.join(args.source, "docs", "man", program + ".1"))
        if not documented:
            problems.append(f"{program}.1 has no options in its OPTIONS section")
        if helped != documented:
            problems.append(f"{program}: only in --help {sorted(helped - documented)}, "
                            f"only in the man page {sorted(documented - helped)}")
        else:
            print(f"ok: {program}: --help and the man page both list {' '.join(sorted(helped))}")
    for p in problems:
        print(f"FAIL: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
