#!/usr/bin/env python3
"""The server's life outside the protocol: signals, utmp and its status file.

* SIGTERM to a server that no client ever reached ends it at once, several times in a
  row (a race once left it waiting forever), and its status file goes with it.
* utmp, checked with `who`, against the stock mosh-server's entry format: `mosh [PID]`
  while detached, `<ip> via mosh [PID]` while a client is attached, back to `mosh [PID]`
  30 s after the client went silent, and no entry once the server is gone.
* A new login-shell session warns about the user's detached sessions.
* 40 s after the client went silent the server forgets its address (the association
  timeout); the status file shows no peer from then on.

utmp needs /run/utmp; where the system has none (a container), the test creates it,
as root, the way a booted system has it (root:utmp 0664), and removes it afterwards.

Usage: server_lifecycle.py --build DIR [--skip-revert]
Exits 0 on success, 1 with a reason. Every wait is bounded."""

import argparse
import grp
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from interop import Failure, Tmux, alive, need, start_server, wait_for

UTMP = "/run/utmp"
REVERT_AFTER = 30  # seconds without a client state before utmp says detached again
ASSOCIATION_TIMEOUT = 40  # seconds without an in-order datagram before the server forgets the client


def who_hosts():
    out = subprocess.run([need("who")], capture_output=True, text=True, timeout=10).stdout
    return re.findall(r"\(([^)]*)\)\s*$", out, re.M)


def ensure_utmp():
    """True when this test created /run/utmp (and must remove it)."""
    if os.path.exists(UTMP):
        return False
    if os.geteuid() != 0:
        raise Failure(f"{UTMP} is missing and only root can create it; run as root or on a booted system")
    open(UTMP, "ab").close()
    os.chown(UTMP, 0, grp.getgrnam("utmp").gr_gid)
    os.chmod(UTMP, 0o664)
    return True


def check_sigterm_without_client(build, env, status_dir, rounds=5):
    for n in range(rounds):
        _, _, pid = start_server("mosh2", build, env)
        wait_for("the status file", lambda: os.path.exists(os.path.join(status_dir, f"{pid}.json")), 5)
        os.kill(pid, signal.SIGTERM)
        try:
            wait_for(f"the server to exit on SIGTERM (round {n + 1})", lambda: not alive(pid), 5)
        finally:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if os.path.exists(os.path.join(status_dir, f"{pid}.json")):
            raise Failure("the server left its status file behind after SIGTERM")
    print(f"ok: SIGTERM ended a server without a client, {rounds} times in a row")


def check_stock_format(env):
    _, _, pid = start_server("stock", None, env)
    try:
        wait_for("the stock server's utmp entry", lambda: f"mosh [{pid}]" in who_hosts(), 10)
    finally:
        os.kill(pid, signal.SIGTERM)
        wait_for("the stock server to exit", lambda: not alive(pid), 10)
    print(f"ok: stock mosh-server's utmp entry reads 'mosh [{pid}]'")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--skip-revert", action="store_true", help="skip the 30 s and 40 s waits (utmp revert, association timeout)")
    args = ap.parse_args()
    need("tmux")

    home = tempfile.mkdtemp(prefix="mosh2-lifecycle-")
    status_dir = os.path.join(home, "status")
    env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="xterm-256color", HOME=home,
               SHELL="/bin/sh", PS1="$ ", MOSH2_STATUS_DIR=status_dir)
    created_utmp = False
    tmux = Tmux(80, 24)
    servers = []
    try:
        check_sigterm_without_client(args.build, env, status_dir)

        created_utmp = ensure_utmp()
        check_stock_format(env)

        # A: detached all along. B: a login shell with a client, which must warn about A.
        _, _, pid_a = start_server("mosh2", args.build, env)
        servers.append(pid_a)
        wait_for("A's utmp entry", lambda: f"mosh [{pid_a}]" in who_hosts(), 10)
        out = subprocess.run([os.path.join(args.build, "tools", "mosh2-server"), "new", "-p", "0", "-i", "127.0.0.1"],
                             capture_output=True, text=True, env=env, timeout=20)
        m = re.search(r"MOSH CONNECT (\d+) (\S+)", out.stdout)
        pid_b = int(re.search(r"pid = (\d+)", out.stderr).group(1))
        servers.append(pid_b)
        client = os.path.join(args.build, "tools", "mosh2-client")
        tmux.start(f"env MOSH_KEY={m.group(2)} {client} 127.0.0.1 {m.group(1)}")
        # Other cells of a parallel run may have detached servers of their own, so the
        # warning may list several sessions; A must be among them, in either wording.
        def warned_about_a():
            screen = tmux.screen()
            return (f"Mosh: You have a detached Mosh session on this server (mosh [{pid_a}])." in screen
                    or (re.search(r"Mosh: You have \d+ detached Mosh sessions on this server, with PIDs:", screen)
                        and f"- mosh [{pid_a}]" in screen))
        wait_for("the detached-session warning", warned_about_a, 15)
        wait_for("B's attached utmp entry", lambda: f"127.0.0.1 via mosh [{pid_b}]" in who_hosts(), 10)
        print(f"ok: attached entry '127.0.0.1 via mosh [{pid_b}]'; the new session warned about mosh [{pid_a}]")

        if not args.skip_revert:
            # The client vanishes without a goodbye (SIGKILL; a SIGHUP would make it
            # shut the session down cleanly): 30 s later utmp says detached again.
            # Anchored to the client's own command line: tmux's server carries the same
            # words, and killing it first would hang the client up (a clean exit).
            subprocess.run(["pkill", "-KILL", "-f", f"^{re.escape(client)} 127.0.0.1 {m.group(1)}$"], timeout=10)
            t0 = time.monotonic()
            wait_for("B's entry to revert to detached", lambda: f"mosh [{pid_b}]" in who_hosts(), REVERT_AFTER + 10)
            waited = time.monotonic() - t0
            if waited < REVERT_AFTER - 5:
                raise Failure(f"utmp said detached after {waited:.0f} s, before the {REVERT_AFTER} s grace")
            print(f"ok: entry back to 'mosh [{pid_b}]' {waited:.1f} s after the client went silent")

            # 40 s after the last in-order datagram the server forgets the client's
            # address (protocol §4.4); its status shows no peer from then on.
            def peer_of_b():
                proc = subprocess.run([os.path.join(args.build, "tools", "mosh2-status"), "--json", "--dir", status_dir,
                                       "--pid", str(pid_b)], capture_output=True, text=True, timeout=10)
                return json.loads(proc.stdout)["sessions"][0]["peer"] if proc.returncode == 0 else "gone"

            if peer_of_b() in (None, "gone"):
                raise Failure(f"server B had no peer {time.monotonic() - t0:.1f} s after the client went silent")
            wait_for("B to forget the silent client", lambda: peer_of_b() is None, ASSOCIATION_TIMEOUT + 15)
            waited = time.monotonic() - t0
            if waited < ASSOCIATION_TIMEOUT - 3:
                raise Failure(f"B forgot its client after {waited:.0f} s, before {ASSOCIATION_TIMEOUT} s")
            print(f"ok: B forgot the client's address {waited:.1f} s after it went silent")

        for pid in servers:
            os.kill(pid, signal.SIGTERM)
        for pid in servers:
            wait_for(f"server {pid} to exit", lambda: not alive(pid), 10)
        leftover = [h for h in who_hosts() if any(f"mosh [{p}]" in h for p in servers)]
        if leftover:
            raise Failure(f"utmp entries left after the servers exited: {leftover}")
        print("ok: no utmp entries left after the servers exited")
        return 0
    except Failure as e:
        print(f"FAIL: {e}")
        print("screen:\n" + tmux.screen())
        return 1
    finally:
        tmux.kill()
        for pid in servers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if created_utmp:
            os.unlink(UTMP)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
