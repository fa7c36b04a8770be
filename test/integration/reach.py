#!/usr/bin/env python3
"""Getting through where UDP is blocked, end to end over a real sshd, inside a network
namespace the test makes itself: it re-runs itself under `unshare -n` (a fresh network
namespace with only lo, which it brings up), starts its own sshd on 127.0.0.1 there
(ssh_bootstrap.start_sshd) and blocks the session's UDP port with nftables, in that
namespace only. The host's own network is never touched.

--mode blocked-udp:
 1. `mosh2 --udp-timeout=3s -p PORT testhost` with PORT dropped by nftables: the client
    shows the bar line "No answer on UDP port PORT" and, below it, the paragraph that
    names UDP port PORT on 127.0.0.1, says ssh to testhost worked, and what to allow.
    Then the rule is deleted: the session comes up, the paragraph is gone from the
    screen, a typed command runs, `exit` ends it with status 0.
 2. The same with the port left blocked: the client gives up, mosh2 exits non-zero and
    the paragraph is left on the terminal (stderr) after the session's screen is gone.

Usage: reach.py --build DIR --mode blocked-udp
Exits 0 on success, 1 with a reason. Every wait is bounded; sshd, tmux and the servers
started in the namespace are killed whatever happens."""

import argparse
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

from interop import Failure, Tmux, alive, need, wait_for
from ssh_bootstrap import start_sshd, stop_sshd

TABLE = "mosh2_reach"


def nft(*words):
    subprocess.run([need("nft"), *words], check=True, capture_output=True, text=True, timeout=10)


def block_udp(port):
    """Drops datagrams to `port` on this namespace's input hook (lo carries both ways)."""
    nft("add", "table", "inet", TABLE)
    nft("add", "chain", "inet", TABLE, "input", "{ type filter hook input priority 0 ; policy accept ; }")
    nft("add", "rule", "inet", TABLE, "input", "udp", "dport", str(port), "drop")


def unblock_udp():
    nft("delete", "table", "inet", TABLE)


def namespace_servers():
    """mosh2-server processes in this test's own network namespace (so only ours)."""
    mine = os.readlink("/proc/self/ns/net")
    found = []
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{p}/ns/net") != mine:
                continue
            if os.path.basename(os.readlink(f"/proc/{p}/exe")) == "mosh2-server":
                found.append(int(p))
        except OSError:
            continue
    return found


def advice_problems(screen, port, host):
    text = " ".join(screen.split())  # the paragraph is wrapped to the pane's width
    want = [f"nothing came back from UDP port {port} on 127.0.0.1",
            f"ssh to {host} worked, so the host is up",
            f"Allow UDP {port} on 127.0.0.1 in the host's firewall or cloud security group"]
    return [w for w in want if w not in text]


def launch_line(build, ssh_config, port, tmp, status_file, extra=()):
    mosh2 = os.path.join(build, "tools", "mosh2")
    server = os.path.join(build, "tools", "mosh2-server")
    launch = [mosh2, f"--ssh=ssh -F {ssh_config}", f"--server={server}", f"--port={port}", "--udp-timeout=3s",
              *extra, "testhost", "--", "/bin/sh"]
    return (f"env HOME={tmp} LANG=C.UTF-8 TERM=xterm-256color PS1='$ ' "
            f"{shlex.join(launch)}; echo $? > {status_file}")


def blocked_then_opened(build, ssh_config, tmp, timeout):
    port = 60123
    block_udp(port)
    tmux = Tmux(80, 24)
    try:
        status_file = os.path.join(tmp, "status-1")
        tmux.start(launch_line(build, ssh_config, port, tmp, status_file))
        wait_for("the bar's line about the UDP port",
                 lambda: f"No answer on UDP port {port}" in tmux.screen(), timeout)
        screen = wait_for("the paragraph about UDP", lambda: (lambda s: s if not advice_problems(s, port, "testhost")
                                                              else None)(tmux.screen()), timeout)
        print("ok: blocked: the client says what is wrong:\n  " + "\n  ".join(
            line for line in screen.splitlines() if line.strip()))
        unblock_udp()
        wait_for("the session's prompt once UDP is open",
                 lambda: re.search(r"^[$#] ?$", tmux.screen(), re.M), timeout)
        if "nothing came back" in tmux.screen():
            raise Failure(f"the session came up but the paragraph is still shown:\n{tmux.screen()}")
        tmux.keys("echo reach-$((6*7))", "Enter")
        wait_for("the command's output", lambda: re.search(r"^reach-42\s*$", tmux.screen(), re.M), timeout)
        print("ok: opened: the session came up, the paragraph went away, typing works")
        tmux.keys("exit", "Enter")
        status = wait_for("mosh2 to exit", lambda: os.path.exists(status_file) and open(status_file).read().strip(),
                          timeout)
        if status != "0":
            raise Failure(f"mosh2 exited with status {status} after `exit`:\n{tmux.screen()}")
        print("ok: `exit` ended the session with status 0")
    finally:
        tmux.kill()
        subprocess.run([need("nft"), "delete", "table", "inet", TABLE], capture_output=True, timeout=10)


def blocked_throughout(build, ssh_config, tmp, timeout):
    port = 60124
    block_udp(port)
    tmux = Tmux(80, 24)
    try:
        status_file = os.path.join(tmp, "status-2")
        tmux.start(launch_line(build, ssh_config, port, tmp, status_file))
        status = wait_for("mosh2 to give up", lambda: os.path.exists(status_file) and open(status_file).read().strip(),
                          timeout)
        screen = tmux.screen()
        if status == "0":
            raise Failure(f"mosh2 exited 0 although UDP port {port} stayed blocked:\n{screen}")
        if tmux.run("display-message", "-p", "#{alternate_on}").stdout.strip() != "0":
            raise Failure("mosh2 exited but the pane is still on the alternate screen")
        problems = advice_problems(screen, port, "testhost")
        if problems:
            raise Failure(f"after giving up, the terminal lacks {problems}:\n{screen}")
        print(f"ok: blocked throughout: mosh2 exited {status} and left the paragraph on the terminal")
    finally:
        tmux.kill()
        unblock_udp()


def inside(build, mode, timeout):
    subprocess.run([need("ip"), "link", "set", "lo", "up"], check=True, timeout=10)
    need("tmux")
    tmp = tempfile.mkdtemp(prefix="mosh2-reach-")
    sshd = None
    log = None
    try:
        sshd, ssh_config, log = start_sshd(tmp)
        if mode == "blocked-udp":
            blocked_then_opened(build, ssh_config, tmp, timeout)
            blocked_throughout(build, ssh_config, tmp, timeout)
        return 0
    except (Failure, subprocess.SubprocessError, OSError) as e:
        print(f"FAIL: {mode}: {e}")
        if log and os.path.exists(log):
            print("sshd log:\n" + open(log).read())
        return 1
    finally:
        stop_sshd(sshd)
        for pid in namespace_servers():
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--mode", choices=["blocked-udp"], required=True)
    ap.add_argument("--timeout", type=float, default=40.0)
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    if args.inside:
        return inside(build, args.mode, args.timeout)
    if os.geteuid() != 0:
        print("FAIL: this test makes a network namespace and runs sshd: it needs root")
        return 1
    for tool in ("unshare", "ip", "nft", "tmux"):
        if not shutil.which(tool):
            print(f"FAIL: {tool} is missing (tools/install-deps installs util-linux, iproute2, nftables, tmux)")
            return 1
    return subprocess.run([shutil.which("unshare"), "-n", sys.executable, os.path.abspath(__file__), "--build", build,
                           "--mode", args.mode, "--timeout", str(args.timeout), "--inside"], timeout=600).returncode


if __name__ == "__main__":
    sys.exit(main())
