#!/usr/bin/env python3
"""One cell of the interop matrix: a server (stock mosh-server or mosh2-server) and a
client (stock mosh-client or mosh2-client) on 127.0.0.1, the client in a tmux pane,
optionally through the test relay (loss, delay, roaming, blackout). Types commands,
checks the output, resizes the pane and checks `stty size`, quits (escape key or
`exit`) and checks that both ends exit, the client with status 0.

Usage: interop.py --server stock|mosh2 --client stock|mosh2 --build DIR
                  [--quit escape|exit] [--relay-args "..."]
Exits 0 on success, 1 with a reason on failure. Every wait is bounded."""

import argparse
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RELAY = os.path.join(HERE, "..", "support", "udp_relay.py")


class Failure(Exception):
    pass


def need(tool):
    path = shutil.which(tool)
    if not path:
        raise Failure(f"{tool} is not installed (tools/install-deps installs it)")
    return path


def wait_for(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise Failure(f"timed out after {timeout}s waiting for {what}")


class Tmux:
    def __init__(self, width, height):
        self.socket = f"mosh2-interop-{os.getpid()}"
        self.width, self.height = width, height

    def run(self, *args, check=True):
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                              check=check, timeout=10)

    def start(self, command):
        self.run("-f", "/dev/null", "new-session", "-d", "-x", str(self.width), "-y", str(self.height), command)
        self.run("set-option", "-g", "status", "off")
        self.run("set-option", "-g", "remain-on-exit", "on")

    def screen(self):
        return self.run("capture-pane", "-p", check=False).stdout

    def keys(self, *keys):
        self.run("send-keys", *keys)

    def hex(self, byte):
        self.run("send-keys", "-H", f"{byte:02x}")

    def resize(self, width, height):
        self.run("resize-window", "-x", str(width), "-y", str(height))

    def kill(self):
        self.run("kill-server", check=False)


def start_server(kind, build, env):
    exe = need("mosh-server") if kind == "stock" else os.path.join(build, "tools", "mosh2-server")
    proc = subprocess.run([exe, "new", "-p", "0", "-i", "127.0.0.1", "-l", "LANG=C.UTF-8", "--", "/bin/sh"],
                          capture_output=True, text=True, env=env, timeout=20)
    m = re.search(r"MOSH CONNECT (\d+) ([A-Za-z0-9+/]{22})", proc.stdout)
    pid = re.search(r"detached, pid = (\d+)", proc.stderr)
    if not m or not pid:
        raise Failure(f"{kind} server did not start: {proc.stdout!r} {proc.stderr!r}")
    return int(m.group(1)), m.group(2), int(pid.group(1))


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", choices=["stock", "mosh2"], required=True)
    ap.add_argument("--client", choices=["stock", "mosh2"], required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--quit", choices=["escape", "exit"], default="escape")
    ap.add_argument("--relay-args", default="")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds allowed for each screen check")
    ap.add_argument("--hold-until", type=float, default=0.0,
                    help="before quitting, keep typing until this many seconds after the relay started "
                         "(so that a --blackout window falls inside the session), then check it still works")
    args = ap.parse_args()

    need("tmux")
    env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="xterm-256color")
    home = tempfile.mkdtemp(prefix="mosh2-interop-")
    env["HOME"] = home
    env["SHELL"] = "/bin/sh"
    env["PS1"] = "$ "
    tmux = Tmux(80, 24)
    relay = None
    server_pid = None
    try:
        port, key, server_pid = start_server(args.server, args.build, env)
        target = port
        started = time.monotonic()
        if args.relay_args:
            relay = subprocess.Popen([sys.executable, RELAY, "--listen", "127.0.0.1:0", "--server",
                                      f"127.0.0.1:{port}", "--duration", "120", *shlex.split(args.relay_args)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            line = relay.stdout.readline()
            m = re.match(r"RELAY PORT (\d+)", line)
            if not m:
                raise Failure(f"relay did not start: {line!r}")
            target = int(m.group(1))

        client = need("mosh-client") if args.client == "stock" else os.path.join(args.build, "tools", "mosh2-client")
        status_file = os.path.join(home, "client-status")
        tmux.start(f"env MOSH_KEY={key} HOME={home} {client} 127.0.0.1 {target}; echo $? > {status_file}")
        wait_for("the shell prompt", lambda: re.search(r"^[$#]( |$)", tmux.screen(), re.M), args.timeout)

        tmux.keys("echo marker-$((6*7))", "Enter")
        wait_for("the command's output", lambda: re.search(r"^marker-42\s*$", tmux.screen(), re.M), args.timeout)

        tmux.resize(100, 30)
        time.sleep(0.3)
        tmux.keys("stty size", "Enter")
        wait_for("stty size to report 30 100", lambda: re.search(r"^30 100\s*$", tmux.screen(), re.M),
                 args.timeout)

        tmux.keys("printf 'wide:%s\\n' 日本語", "Enter")
        wait_for("UTF-8 output", lambda: "wide:日本語" in tmux.screen(), args.timeout)

        if args.hold_until:
            # Type across the outage; the session must come back without any help.
            for n in range(int(args.hold_until) + 1):
                if time.monotonic() - started >= args.hold_until:
                    break
                tmux.keys(f"echo tick-{n}", "Enter")
                time.sleep(1)
            tmux.keys("echo after-$((40+2))", "Enter")
            wait_for("output after the outage", lambda: re.search(r"^after-42\s*$", tmux.screen(), re.M),
                     args.timeout)

        if args.quit == "escape":
            tmux.hex(0x1E)
            tmux.keys(".")
        else:
            tmux.keys("exit", "Enter")
        status = wait_for("the client to exit",
                          lambda: os.path.exists(status_file) and open(status_file).read().strip(), args.timeout)
        if status != "0":
            raise Failure(f"client exited with status {status}; screen:\n{tmux.screen()}")
        wait_for("the server to exit", lambda: not alive(server_pid), args.timeout)
        print(f"ok: {args.client} client <-> {args.server} server, quit by {args.quit}"
              + (f", relay {args.relay_args}" if args.relay_args else ""))
        return 0
    except Failure as e:
        print(f"FAIL: {args.client} client <-> {args.server} server: {e}")
        print("screen:\n" + tmux.screen())
        return 1
    finally:
        tmux.kill()
        if relay:
            relay.send_signal(signal.SIGTERM)
            try:
                relay.wait(timeout=5)
            except subprocess.TimeoutExpired:
                relay.kill()
        if server_pid and alive(server_pid):
            os.kill(server_pid, signal.SIGKILL)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
