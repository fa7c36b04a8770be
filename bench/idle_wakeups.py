"""Idle cost, side by side: N sessions sit at a shell prompt, each a server and a client
on loopback, and for SECONDS nobody types. For every process we count how often it
woke up (voluntary context switches: each is one return from a wait) and how much CPU
it used, and report the median per minute for stock mosh-server/mosh-client and for
mosh2-server/mosh2-client, with the ratio. Laptops and phones pay for every wake-up.

Usage: idle_wakeups.py [--sessions N] [--seconds S] [--mosh2-server P] [--mosh2-client P]
Every wait is bounded; every process it starts is killed at the end."""

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_compare import start_client, start_server  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICKS = os.sysconf("SC_CLK_TCK")


def sample(pid):
    """(voluntary context switches, CPU seconds) of a live process."""
    with open(f"/proc/{pid}/status") as f:
        ctx = next(int(l.split()[1]) for l in f if l.startswith("voluntary_ctxt_switches"))
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return ctx, (int(fields[11]) + int(fields[12])) / TICKS


def measure(server, client, sessions, seconds, env):
    pids = {"server": [], "client": []}
    fds = []
    try:
        for _ in range(sessions):
            port, key, spid = start_server(server, "exec sh", env, 20)
            cpid, fd = start_client(client, port, key, 80, 24)
            pids["server"].append(spid)
            pids["client"].append(cpid)
            fds.append(fd)
        time.sleep(5)  # connected, first screen drawn, RTT settled
        for fd in fds:  # drain the first screens so no client blocks on its pty
            try:
                os.set_blocking(fd, False)
                os.read(fd, 1 << 20)
            except OSError:
                pass
        before = {p: sample(p) for ps in pids.values() for p in ps}
        time.sleep(seconds)
        after = {p: sample(p) for ps in pids.values() for p in ps}
        out = {}
        for role, ps in pids.items():
            wakes = [(after[p][0] - before[p][0]) * 60 / seconds for p in ps]
            cpu = [(after[p][1] - before[p][1]) * 1000 * 60 / seconds for p in ps]
            out[role] = (statistics.median(wakes), statistics.median(cpu))
        return out
    finally:
        for ps in pids.values():
            for p in ps:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for fd in fds:
            os.close(fd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--mosh2-server", default=os.path.join(ROOT, "build-release", "tools", "mosh2-server"))
    ap.add_argument("--mosh2-client", default=os.path.join(ROOT, "build-release", "tools", "mosh2-client"))
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="mosh2-idle-")
    env = dict(os.environ, HOME=home, SHELL="/bin/sh", PS1="$ ", LANG="C.UTF-8", LC_ALL="C.UTF-8",
               MOSH2_STATUS_DIR=os.path.join(home, "status"))
    stock = measure("/usr/bin/mosh-server", "/usr/bin/mosh-client", args.sessions, args.seconds, env)
    ours = measure(args.mosh2_server, args.mosh2_client, args.sessions, args.seconds, env)
    print(f"idle sessions at a prompt: {args.sessions} at once, {args.seconds:.0f} s, median per process")
    print(f"{'process':<8} {'stock wakes/min':>16} {'mosh2 wakes/min':>16} {'ratio':>6}"
          f" {'stock CPU ms/min':>17} {'mosh2 CPU ms/min':>17}")
    for role in ("server", "client"):
        (sw, sc), (mw, mc) = stock[role], ours[role]
        ratio = f"{mw / sw:.2f}" if sw else "-"
        print(f"{role:<8} {sw:>16.1f} {mw:>16.1f} {ratio:>6} {sc:>17.1f} {mc:>17.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
