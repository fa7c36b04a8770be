#!/usr/bin/env python3
"""The README's first command, `tools/start`, in a tmux pane: it installs what is missing
(nothing, in the test suite), builds the programs (already built), and opens a local
session through `mosh2 --local`: mosh2-server on this machine and mosh2-client attached
over 127.0.0.1. The test
types a command and reads its output, checks that the session runs under mosh2-server
(the shell's parent process) and that one mosh2-client runs below the test's own tmux
pane, then leaves with `exit` and checks that tools/start exits 0 and the server is gone.

Usage: readme_start.py --source DIR --build DIR
Exits 0 on success, 1 with a reason. Every wait is bounded."""

import argparse
import os
import re
import sys
import tempfile
import time

from interop import Failure, Tmux, descends_from, expect_clean_exit, need, tear_down, wait_for


def pid_of_command(pattern):
    """Pids whose command line matches `pattern` (a regex over the NUL-joined argv)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if re.search(pattern, argv):
            found.append(int(pid))
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="mosh2-start-")
    tmux = Tmux(80, 24)
    server_pid = None
    try:
        need("tmux")
        exit_file = os.path.join(home, "start-exit")
        marker = f"mosh2-start-{os.getpid()}"
        tmux.start(f"env HOME={home} SHELL=/bin/sh PS1='$ ' TERM=xterm-256color LANG=C.UTF-8 "
                   f"MOSH2_BUILD_DIR={args.build} {os.path.join(args.source, 'tools', 'start')} -- /bin/sh; "
                   f"echo $? > {exit_file}")
        wait_for("the session's prompt", lambda: re.search(r"^[$#] ?$", tmux.screen(), re.M), args.timeout)
        tmux.keys(f"echo {marker}-$((6*7)) $PPID", "Enter")
        m = wait_for("the command's output", lambda: re.search(rf"^{marker}-42 (\d+)\s*$", tmux.screen(), re.M),
                     args.timeout)
        server_pid = int(m.group(1))
        with open(f"/proc/{server_pid}/cmdline", "rb") as f:
            server_argv = f.read().split(b"\0")
        if not server_argv[0].endswith(b"mosh2-server"):
            raise Failure(f"the shell's parent is {server_argv!r}, not mosh2-server")
        # Tests run side by side: only the client below this test's pane is ours.
        pane_pid = int(tmux.run("display-message", "-p", "#{pane_pid}").stdout.strip())
        clients = [p for p in pid_of_command(r"mosh2-client .*127\.0\.0\.1 \d+") if descends_from(p, pane_pid)]
        if len(clients) != 1:
            raise Failure(f"expected one mosh2-client process below the pane's process {pane_pid}, found {clients}")
        print(f"ok: tools/start opened a session: shell under mosh2-server pid {server_pid}, "
              f"client pid {clients}")
        tmux.keys("exit", "Enter")
        expect_clean_exit(tmux, "tools/start", exit_file, server_pid, args.timeout, server_timeout=15)
        print("ok: `exit` ended the session; tools/start exited 0 and the server is gone")
        return 0
    except Failure as e:
        print(f"FAIL: {e}")
        print("screen:\n" + tmux.screen())
        return 1
    finally:
        tear_down(tmux, None, server_pid, home)


if __name__ == "__main__":
    sys.exit(main())
