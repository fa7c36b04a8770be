#!/usr/bin/env python3
"""Reattach end to end (docs/status.md, "Attaching"; docs/protocol.md, "Rekeying").

--mode ssh starts its own sshd on 127.0.0.1 as ssh_bootstrap.py does and runs every
launcher through `ssh -F CFG testhost`; the server is this build's mosh2-server with
MOSH2_STATUS_DIR pointing into the test's temp folder, so no other test's sessions are
seen. In order, each step asserting what it says:

1. `mosh2 --name work testhost -- /bin/sh` (pane A): a few commands, a HUP trap, then
   `less` on a known file. A datagram of the client's is captured on lo (AF_PACKET).
2. SIGKILL the client. Once the session is detached, `mosh2 --attach testhost` (pane B)
   shows the same screen (less, the same lines); the captured datagram, sent again, is
   counted as an `old_key` drop; `q` and a command work; the shell has the same pid.
3. `mosh2 --attach=work` (pane C) while B is alive: B shows "this session was attached
   from elsewhere" and exits non-zero; C works.
4. `mosh2-server attach work` over ssh, then the stock `mosh-client` with that key (pane
   D): it takes over (C exits non-zero with the message) and typing works; then
   `mosh2 --attach=work` (pane E) takes over from the stock client.
5. Under 20 % loss both ways (test/support/udp_relay.py), an attach by a mosh2-client
   still converges to the full screen.
6. Names: a second session `play`; `new --name work` is refused (one line, exit 2);
   `attach play` and `attach work` each give that session's port. A new session's
   launcher shows "N detached sessions (...)" before the session, and not with
   --no-detached-notice. Failures: a wrong name, a wrong id, several detached with none
   named (the list, exit 2), and no session at all: each one line (the list aside) and a
   non-zero exit.
7. The program never noticed: the same shell pid throughout and no HUP; the status says
   how often the session was attached and from where. `exit` ends the session.

--mode local: `mosh2 --local --name solo`, SIGKILL, `mosh2 --local --attach`: the same
screen, typing works.

Every wait is bounded; sshd, tmux, the relay and the sessions are killed whatever happens."""

import argparse
import json
import os
import re
import shlex
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

from interop import Failure, Tmux, alive, need, parent_pid, start_relay, stop_relay, wait_for
from ssh_bootstrap import start_sshd, stop_sshd

MESSAGE = "this session was attached from elsewhere"
TIMEOUT = 30.0


class Pane(Tmux):
    """One tmux server per pane, so that each client has a terminal of its own."""
    count = 0

    def __init__(self):
        super().__init__(80, 24)
        Pane.count += 1
        self.socket = f"mosh2-attach-{os.getpid()}-{Pane.count}"
        self.status_file = None

    def launch(self, tmp, argv, env_words=()):
        self.status_file = os.path.join(tmp, f"pane-{Pane.count}-{self.socket}.status")
        words = ["env", f"HOME={tmp}", "LANG=C.UTF-8", "TERM=xterm-256color", *env_words]
        self.start(f"{shlex.join(words + list(argv))}; echo $? > {self.status_file}")

    def exit_status(self):
        if not self.status_file or not os.path.exists(self.status_file):
            return None
        return open(self.status_file).read().strip() or None

    def client_pid(self):
        pane_pid = int(self.run("display-message", "-p", "#{pane_pid}").stdout.strip())
        kids = [p for p in map(int, filter(str.isdigit, os.listdir("/proc"))) if parent_pid(p) == pane_pid]
        for pid in kids:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv0 = f.read().split(b"\0")[0].decode(errors="replace")
            except OSError:
                continue
            if argv0.endswith("-client"):
                return pid
        return None


def shows(pane, pattern, what):
    return wait_for(what, lambda: re.search(pattern, pane.screen(), re.M), TIMEOUT)


def sessions(build, status_dir):
    p = subprocess.run([os.path.join(build, "tools", "mosh2-status"), "--json", "--dir", status_dir],
                       capture_output=True, text=True, timeout=20)
    if p.returncode != 0:
        raise Failure(f"mosh2-status --json failed: {p.stderr!r}")
    return json.loads(p.stdout)["sessions"]


def session_named(build, status_dir, name):
    for s in sessions(build, status_dir):
        if s.get("name") == name:
            return s
    return None


def wait_detached(build, status_dir, name):
    return wait_for(f"session {name} to be detached",
                    lambda: (session_named(build, status_dir, name) or {}).get("session_state") == "detached", 40)


def children(pid):
    return [p for p in map(int, filter(str.isdigit, os.listdir("/proc"))) if parent_pid(p) == pid]


class Capture:
    """UDP datagrams to one port on lo, read from a packet socket (root only): the
    old client's own sealed bytes, to send again after the key was rotated."""

    def __init__(self, port):
        self.port = port
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
        self.sock.bind(("lo", 0))
        self.sock.settimeout(0.2)

    def one(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                packet = self.sock.recv(65536)
            except socket.timeout:
                continue
            if len(packet) < 28 or packet[9] != 17:
                continue
            ihl = (packet[0] & 0x0F) * 4
            _, dport, length, _ = struct.unpack("!HHHH", packet[ihl:ihl + 8])
            if dport == self.port:
                return packet[ihl + 8:ihl + length]
        raise Failure(f"no datagram to UDP port {self.port} captured within {timeout}s")

    def close(self):
        self.sock.close()


def screen_lines(text):
    """A screen's lines that belong to the session (not the client's notification bar)."""
    return [l.rstrip() for l in text.splitlines() if l.strip() and not l.startswith("mosh: ")]


def old_key_drops(session):
    return session["datagrams"]["dropped"]["old_key"]


def run_ssh_mode(args, tmp, panes, cleanup):
    build = args.build
    status_dir = os.path.join(tmp, "status")
    server = f"env MOSH2_STATUS_DIR={status_dir} {os.path.join(build, 'tools', 'mosh2-server')}"
    mosh2 = os.path.join(build, "tools", "mosh2")
    sshd, ssh_config, log = start_sshd(tmp)
    cleanup.append(lambda: stop_sshd(sshd))
    ssh = f"--ssh=ssh -F {ssh_config}"
    base = [mosh2, ssh, f"--server={server}"]
    data = os.path.join(tmp, "lines.txt")
    with open(data, "w") as f:
        f.writelines(f"attach-line-{i:03d} of the file\n" for i in range(200))
    hup = os.path.join(tmp, "got-hup")

    def remote(*words):
        return subprocess.run(["ssh", "-F", ssh_config, "testhost", "--", server, *map(shlex.quote, words)],
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)

    # 1. The first client, with state worth keeping.
    a = Pane()
    panes.append(a)
    a.launch(tmp, base + ["--name", "work", "testhost", "--", "/bin/sh"])
    shows(a, r"^[$#] ?$", "the first session's prompt")
    work = wait_for("the session named work", lambda: session_named(build, status_dir, "work"), TIMEOUT)
    server_pid, port = work["pid"], work["local"]["port"]
    cleanup.append(lambda: alive(server_pid) and os.kill(server_pid, signal.SIGKILL))
    shell = children(server_pid)
    if len(shell) != 1:
        raise Failure(f"server {server_pid} has children {shell}, expected one shell")
    shell = shell[0]
    capture = Capture(port)
    a.keys(f"trap 'echo hup > {hup}' HUP; echo first-$((6*7))", "Enter")
    shows(a, r"^first-42\s*$", "the first command's output")
    old_datagram = capture.one(TIMEOUT)
    capture.close()
    a.keys(f"less {data}", "Enter")
    shows(a, r"^attach-line-022 of the file", "less on the first client")
    before = a.screen()
    print(f"ok: session work (server {server_pid}, UDP {port}, shell {shell}) shows less; "
          f"captured a {len(old_datagram)}-byte datagram of its client")

    # 2. SIGKILL the client; attach the only detached session.
    client = a.client_pid()
    if not client:
        raise Failure("no client process in the first pane")
    os.kill(client, signal.SIGKILL)
    wait_detached(build, status_dir, "work")
    b = Pane()
    panes.append(b)
    b.launch(tmp, base + ["--attach", "testhost"])
    shows(b, r"^attach-line-022 of the file", "the attached client to show less")
    after = b.screen()
    want = [l for l in before.splitlines() if l.startswith("attach-line")]
    got = [l for l in after.splitlines() if l.startswith("attach-line")]
    if want != got:
        raise Failure(f"the attached screen differs:\nbefore:\n{before}\nafter:\n{after}")
    drops_before = old_key_drops(session_named(build, status_dir, "work"))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(old_datagram, ("127.0.0.1", port))
    wait_for("the old-key datagram to be counted",
             lambda: old_key_drops(session_named(build, status_dir, "work")) == drops_before + 1, TIMEOUT)
    b.keys("q")
    # Typed only once less is gone, so that none of it is read by less.
    wait_for("less to exit", lambda: "attach-line-022" not in b.screen() and re.search(r"^[$#] ?$", b.screen(), re.M),
             TIMEOUT)
    b.keys("echo second-$((6*7))", "Enter")
    shows(b, r"^second-42\s*$", "typing on the attached client")
    if children(server_pid) != [shell]:
        raise Failure(f"the session's shell changed: {children(server_pid)} instead of {shell}")
    print(f"ok: after SIGKILL, `mosh2 --attach testhost` shows the same {len(want)} lines of less, typing works, "
          f"an old-key datagram counted as a drop ({drops_before} -> {drops_before + 1})")

    # 3. Attach while the attached client is alive: it is told and exits non-zero.
    c = Pane()
    panes.append(c)
    c.launch(tmp, base + ["--attach=work", "testhost"])
    shows(c, r"^second-42\s*$", "the third client to show the session")
    wait_for("the displaced client to exit", b.exit_status, TIMEOUT)
    if b.exit_status() == "0" or MESSAGE not in b.screen():
        raise Failure(f"the displaced client exited {b.exit_status()}; screen:\n{b.screen()}")
    c.keys("echo third-$((6*7))", "Enter")
    shows(c, r"^third-42\s*$", "typing on the third client")
    print(f"ok: attached while the client was alive: it said {MESSAGE!r} and exited {b.exit_status()}")

    # 4. A stock mosh-client with the rotated key, then mosh2 again.
    r = remote("attach", "work")
    m = re.search(r"^MOSH CONNECT (\d+) ([A-Za-z0-9+/]{22})\s*$", r.stdout, re.M)
    if r.returncode != 0 or not m or int(m.group(1)) != port:
        raise Failure(f"mosh2-server attach work gave {r.returncode}: {r.stdout!r} {r.stderr!r}")
    d = Pane()
    panes.append(d)
    d.launch(tmp, [need("mosh-client"), "127.0.0.1", m.group(1)], [f"MOSH_KEY={m.group(2)}"])
    shows(d, r"^third-42\s*$", "the stock client to show the session")
    d.keys("echo stock-$((6*7))", "Enter")
    shows(d, r"^stock-42\s*$", "typing on the stock client")
    wait_for("the mosh2 client displaced by the stock one to exit", c.exit_status, TIMEOUT)
    if c.exit_status() == "0" or MESSAGE not in c.screen():
        raise Failure(f"the client displaced by the stock one exited {c.exit_status()}; screen:\n{c.screen()}")
    e = Pane()
    panes.append(e)
    e.launch(tmp, base + ["--attach=work", "testhost"])
    shows(e, r"^stock-42\s*$", "mosh2 to take over from the stock client")
    e.keys("echo fifth-$((6*7))", "Enter")
    shows(e, r"^fifth-42\s*$", "typing after taking over from the stock client")
    stock = d.client_pid()
    if stock:
        os.kill(stock, signal.SIGKILL)  # it hears silence, as with Mosh; nothing more to see
    print("ok: a stock mosh-client attached with the rotated key; the mosh2 client it displaced exited "
          f"{c.exit_status()} with the message; mosh2 --attach took over from the stock client")

    # 5. An attach under 20 % loss each way converges to the full screen.
    want_lines = screen_lines(e.screen())
    r = remote("attach", "work")
    m = re.search(r"^MOSH CONNECT (\d+) ([A-Za-z0-9+/]{22})\s*$", r.stdout, re.M)
    if r.returncode != 0 or not m:
        raise Failure(f"attach for the lossy client failed: {r.stdout!r} {r.stderr!r}")
    relay, relay_port = start_relay("127.0.0.1", port, ["--loss", "0.2", "--seed", "17"])
    cleanup.append(lambda: stop_relay(relay))
    f = Pane()
    panes.append(f)
    f.launch(tmp, [os.path.join(build, "tools", "mosh2-client"), "127.0.0.1", str(relay_port)],
             [f"MOSH_KEY={m.group(2)}"])
    shows(f, r"^fifth-42\s*$", "the full screen through 20 % loss")
    wait_for("every line of the screen through 20 % loss", lambda: screen_lines(f.screen()) == want_lines, TIMEOUT)
    wait_for("the client displaced before the lossy attach to exit", e.exit_status, TIMEOUT)
    if e.exit_status() == "0" or MESSAGE not in e.screen():
        raise Failure(f"the client displaced by the lossy attach exited {e.exit_status()}")
    print(f"ok: through 20 % loss each way the attached client shows all {len(want_lines)} lines")

    # 6. Names, the notice, failures.
    r = remote("new", "-p", "0", "--name", "work", "--", "/bin/sh")
    lines = r.stderr.strip().splitlines()
    if r.returncode != 2 or len(lines) != 1 or "work" not in lines[0]:
        raise Failure(f"a clashing name gave status {r.returncode}, stderr {r.stderr!r}")
    print(f"ok: a clashing name is refused with exit 2: {lines[0]}")
    g = Pane()
    panes.append(g)
    g.launch(tmp, base + ["--name", "play", "testhost", "--", "/bin/sh"])
    shows(g, r"^[$#] ?$", "the second session's prompt")
    play = wait_for("the session named play", lambda: session_named(build, status_dir, "play"), TIMEOUT)
    cleanup.append(lambda: alive(play["pid"]) and os.kill(play["pid"], signal.SIGKILL))
    for name, want_port in (("play", play["local"]["port"]), ("work", port)):
        r = remote("attach", name)
        m = re.search(r"^MOSH CONNECT (\d+) ", r.stdout, re.M)
        if r.returncode != 0 or not m or int(m.group(1)) != want_port:
            raise Failure(f"attach {name} gave {r.returncode} {r.stdout!r}; expected port {want_port}")
    print("ok: attach by name reaches each named session")
    # Both sessions' keys were rotated away from their clients: both become detached.
    for pane in (f, g):
        pid = pane.client_pid()
        if pid:
            os.kill(pid, signal.SIGKILL)
    wait_detached(build, status_dir, "work")
    wait_detached(build, status_dir, "play")
    r = remote("attach")
    if r.returncode != 2 or "work" not in r.stderr or "play" not in r.stderr or "MOSH CONNECT" in r.stdout:
        raise Failure(f"several detached, none named: status {r.returncode}, {r.stderr!r}")
    print(f"ok: several detached and none named: exit 2 with the list:\n{r.stderr.rstrip()}")
    for words, what in ((("attach", "nosuch"), "a wrong name"), (("attach", "999999"), "a wrong id")):
        r = remote(*words)
        lines = r.stderr.strip().splitlines()
        if r.returncode == 0 or len(lines) != 1 or "MOSH CONNECT" in r.stdout:
            raise Failure(f"{what}: status {r.returncode}, stderr {r.stderr!r}")
        print(f"ok: {what}: exit {r.returncode}, {lines[0]}")
    p = subprocess.run(["ssh", "-F", ssh_config, "testhost", "--",
                        f"env MOSH2_STATUS_DIR={os.path.join(tmp, 'empty')} {os.path.join(build, 'tools', 'mosh2-server')} attach"],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    lines = p.stderr.strip().splitlines()
    if p.returncode == 0 or len(lines) != 1:
        raise Failure(f"no session: status {p.returncode}, stderr {p.stderr!r}")
    print(f"ok: no session: exit {p.returncode}, {lines[0]}")
    # The notice goes to stderr before the client takes the terminal (and its alternate
    # screen): /bin/true as the client shows it alone. The server it started is ended.
    for extra, want_notice in (([], True), (["--no-detached-notice"], False)):
        p = subprocess.run([mosh2, "--allow-no-tty", "--client=/bin/true", ssh, f"--server={server}", *extra,
                            "testhost"], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        for other in sessions(build, status_dir):
            if other["session_state"] == "never-connected" and not other.get("name"):
                os.kill(other["pid"], signal.SIGTERM)
        notice = re.search(r"^2 detached sessions \((work, play|play, work)\); mosh2 --attach testhost to resume one\s*$",
                           p.stderr, re.M)
        if p.returncode != 0 or bool(notice) != want_notice or ("detached session" in p.stderr) != want_notice:
            raise Failure(f"mosh2 {extra}: status {p.returncode}, stderr {p.stderr!r}")
    print("ok: a new session's launcher names the detached sessions, and not with --no-detached-notice")

    # 7. The program never noticed; the status counts the attaches. `exit` ends it.
    j = Pane()
    panes.append(j)
    j.launch(tmp, base + ["--attach=work", "testhost"])
    shows(j, r"^fifth-42\s*$", "the last attach")
    if children(server_pid) != [shell] or os.path.exists(hup):
        raise Failure(f"the shell changed ({children(server_pid)} vs {shell}) or got SIGHUP ({os.path.exists(hup)})")
    status = wait_for("the status to show the last attach's address",
                      lambda: (lambda s: s if s["attach"]["from"] else None)(session_named(build, status_dir, "work")),
                      TIMEOUT)
    if status["attach"]["count"] != 7 or status["attach"]["from"] != "127.0.0.1" or not status["attach"]["last_unix_ms"]:
        raise Failure(f"the status says {status['attach']}; expected 7 attaches from 127.0.0.1")
    table = subprocess.run([os.path.join(build, "tools", "mosh2-status"), "--dir", status_dir],
                           capture_output=True, text=True, timeout=20).stdout
    if not re.search(rf"^\s*{server_pid}\s+server\s+\S+\s+work\s.*\s7\s+/bin/sh", table, re.M):
        raise Failure(f"mosh2-status does not show the name and the attaches:\n{table}")
    j.keys("exit", "Enter")
    wait_for("the last client to exit", j.exit_status, TIMEOUT)
    if j.exit_status() != "0":
        raise Failure(f"the last client exited {j.exit_status()}")
    wait_for("the server to exit", lambda: not alive(server_pid), TIMEOUT)
    print(f"ok: shell {shell} ran throughout without SIGHUP; status: {status['attach']}; `exit` ended the session")
    return 0


def run_local_mode(args, tmp, panes, cleanup):
    build = args.build
    status_dir = os.path.join(tmp, "status")
    mosh2 = os.path.join(build, "tools", "mosh2")
    env = [f"MOSH2_STATUS_DIR={status_dir}"]
    a = Pane()
    panes.append(a)
    a.launch(tmp, [mosh2, "--local", "--name", "solo", "--", "/bin/sh"], env)
    shows(a, r"^[$#] ?$", "the local session's prompt")
    solo = wait_for("the session named solo", lambda: session_named(build, status_dir, "solo"), TIMEOUT)
    cleanup.append(lambda: alive(solo["pid"]) and os.kill(solo["pid"], signal.SIGKILL))
    a.keys("echo local-$((6*7))", "Enter")
    shows(a, r"^local-42\s*$", "the local command's output")
    os.kill(a.client_pid(), signal.SIGKILL)
    wait_detached(build, status_dir, "solo")
    b = Pane()
    panes.append(b)
    b.launch(tmp, [mosh2, "--local", "--attach"], env)
    shows(b, r"^local-42\s*$", "the local attach to show the screen")
    b.keys("echo again-$((6*7))", "Enter")
    shows(b, r"^again-42\s*$", "typing after the local attach")
    b.keys("exit", "Enter")
    wait_for("the local client to exit", b.exit_status, TIMEOUT)
    if b.exit_status() != "0":
        raise Failure(f"the local client exited {b.exit_status()}")
    print("ok: local: SIGKILL, `mosh2 --local --attach` shows the same screen, typing works, `exit` ends it")
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--mode", choices=["ssh", "local"], required=True)
    args = ap.parse_args()
    need("tmux")
    tmp = tempfile.mkdtemp(prefix="mosh2-attach-")
    os.chmod(tmp, 0o700)
    panes, cleanup = [], []
    try:
        run = run_ssh_mode if args.mode == "ssh" else run_local_mode
        return run(args, tmp, panes, cleanup)
    except (Failure, subprocess.SubprocessError, OSError, KeyError, TypeError) as e:
        print(f"FAIL: {args.mode}: {e}")
        for n, p in enumerate(panes):
            print(f"pane {n + 1} (exit {p.exit_status()}):\n{p.screen()}")
        return 1
    finally:
        for p in panes:
            pid = p.client_pid() if p.run("has-session", check=False).returncode == 0 else None
            p.kill()
            if pid and alive(pid):
                os.kill(pid, signal.SIGKILL)
        for c in reversed(cleanup):
            try:
                c()
            except OSError:
                pass
        subprocess.run(["rm", "-rf", tmp], timeout=20)


if __name__ == "__main__":
    sys.exit(main())
