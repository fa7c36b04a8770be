#!/usr/bin/env python3
"""The mosh2 launcher end to end, in a tmux pane. For --mode ssh and ssh-stock the test
starts its own sshd on 127.0.0.1 (a free port, a fresh host key, a fresh client key as
the only authorized key, everything in a temp folder) and an ssh client config (-F)
where `Host testhost` is an alias for it, so the launcher must go through the user's ssh
and its config: `mosh2 --ssh="ssh -F CFG" --server=SERVER testhost -- /bin/sh`, with
SERVER this build's mosh2-server (ssh, and ssh-remote-ip) or the stock
/usr/bin/mosh-server (ssh-stock). ssh-remote-ip adds --experimental-remote-ip=remote and
makes the two ways of finding the server's address disagree, as a jump host does: the
user's ssh config reaches testhost (HostName 127.0.0.1) through a ProxyCommand that
connects to sshd on [::1], so resolving the name locally says 127.0.0.1 while the
server's $SSH_CONNECTION says ::1. The client must be given ::1 and the server must be
bound there: the address came from SSH_CONNECTION.
--mode local runs `mosh2 --local -- /bin/sh` (no ssh). Each mode types a command and
checks its output, checks that the shell runs under the expected server (its $PPID), bound to
127.0.0.1 only (::1 for ssh-remote-ip), and that the client's argv is `mosh2-client -# ... | ADDRESS PORT`
(no key), resizes the
pane, waits until the session's pty has the new size, and checks `stty size` (typed
once), quits with `exit`, and checks that mosh2 exits 0 and the
server is gone. Every mode also checks that `mosh2 --bogus` prints one line and exits 2;
the ssh mode also checks that a server that prints no MOSH CONNECT line gives one
error line and exit 1.

Usage: ssh_bootstrap.py --build DIR --mode ssh|ssh-stock|ssh-remote-ip|local
Exits 0 on success, 1 with a reason. Every wait is bounded; sshd, tmux and the session's
server are killed whatever happens."""

import argparse
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile

from interop import (Failure, Tmux, expect_clean_exit, need, parent_pid, pty_size, require_ipv6_loopback,
                     session_shell, socket_owners, tear_down, udp_sockets, wait_for)

SSHD = "/usr/sbin/sshd"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(path):
    subprocess.run([need("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-f", path], check=True,
                   capture_output=True, timeout=20)


# The user's ProxyCommand for ssh-remote-ip: relays ssh's stdio to sshd on [::1]:PORT.
PROXY = r'''
import os, selectors, socket, sys
s = socket.create_connection(("::1", int(sys.argv[1])))
sel = selectors.DefaultSelector()
sel.register(0, selectors.EVENT_READ)
sel.register(s, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        if key.fileobj == 0:
            data = os.read(0, 65536)
            if not data:
                s.shutdown(socket.SHUT_WR)
                sel.unregister(0)
                continue
            s.sendall(data)
        else:
            data = s.recv(65536)
            if not data:
                sys.exit(0)
            os.write(1, data)
'''


def start_sshd(tmp, address="127.0.0.1", prefix=(), via_ipv6=False):
    """Our own sshd on `address` (127.0.0.1; and ::1 with via_ipv6, where the client
    config reaches it through a ProxyCommand), run under `prefix` (e.g. nsenter into a
    test's namespace); returns (process, ssh client config path, log path)."""
    if not os.access(SSHD, os.X_OK):
        raise Failure(f"{SSHD} is missing: install Debian's openssh-server (tools/install-deps lists it)")
    if os.geteuid() != 0:
        raise Failure("this test runs sshd as root (it logs in as the current user, root)")
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # Debian's sshd privilege-separation dir
    keygen(os.path.join(tmp, "host_key"))
    keygen(os.path.join(tmp, "client_key"))
    authorized = os.path.join(tmp, "authorized_keys")
    with open(os.path.join(tmp, "client_key.pub")) as src, open(authorized, "w") as dst:
        dst.write(src.read())
    port = free_port()
    sshd_config = os.path.join(tmp, "sshd_config")
    with open(sshd_config, "w") as f:
        f.write(f"""Port {port}
ListenAddress {address}
{"ListenAddress ::1" if via_ipv6 else ""}
HostKey {tmp}/host_key
PidFile {tmp}/sshd.pid
AuthorizedKeysFile {authorized}
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
PrintLastLog no
""")
    log = os.path.join(tmp, "sshd.log")
    sshd = subprocess.Popen([*prefix, SSHD, "-D", "-e", "-f", sshd_config], stdin=subprocess.DEVNULL,
                            stdout=open(log, "w"), stderr=subprocess.STDOUT)

    def listening():
        if sshd.poll() is not None:
            raise Failure(f"sshd exited with status {sshd.returncode}: {open(log).read().strip()}")
        if prefix:  # sshd's namespace may be out of our reach: ask from inside it
            probe = f"import socket; socket.create_connection(({address!r}, {port}), timeout=1)"
            return subprocess.run([*prefix, sys.executable, "-c", probe], capture_output=True,
                                  timeout=10).returncode == 0
        try:
            with socket.create_connection((address, port), timeout=1):
                return True
        except OSError:
            return False
    wait_for(f"sshd to listen on {address}:{port}", listening, 15)
    ssh_config = os.path.join(tmp, "ssh_config")
    with open(ssh_config, "w") as f:
        f.write(f"""Host testhost
  HostName {address}
  Port {port}
  User root
  IdentityFile {tmp}/client_key
  IdentitiesOnly yes
  BatchMode yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
""")
        if via_ipv6:
            proxy = os.path.join(tmp, "proxy.py")
            with open(proxy, "w") as p:
                p.write(PROXY)
            f.write(f"  ProxyCommand {sys.executable} {proxy} {port}\n")
    return sshd, ssh_config, log


def stop_sshd(sshd):
    if sshd and sshd.poll() is None:
        sshd.terminate()
        try:
            sshd.wait(timeout=5)
        except subprocess.TimeoutExpired:
            sshd.kill()
            sshd.wait(timeout=5)


def check_bad_option(mosh2):
    proc = subprocess.run([mosh2, "--bogus", "host"], capture_output=True, text=True, timeout=10)
    lines = proc.stderr.splitlines()
    if proc.returncode != 2 or len(lines) != 1 or proc.stdout:
        raise Failure(f"`mosh2 --bogus` gave status {proc.returncode}, stderr {proc.stderr!r}, "
                      f"stdout {proc.stdout!r}; expected status 2 and one line")
    print(f"ok: `mosh2 --bogus host` exits 2 with one line: {lines[0]}")


def check_no_server(mosh2, ssh_config, env):
    """A server command that prints no MOSH CONNECT: one error line (after ssh's own output), exit 1."""
    proc = subprocess.run([mosh2, "--allow-no-tty", f"--ssh=ssh -F {ssh_config}", "--server=/bin/true", "testhost"],
                          capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
    last = proc.stderr.strip().splitlines()[-1:] or [""]
    if proc.returncode != 1 or not last[0].startswith("mosh2: did not find the server's startup message"):
        raise Failure(f"with --server=/bin/true mosh2 gave status {proc.returncode}, stderr {proc.stderr!r}")
    print(f"ok: a server that never says MOSH CONNECT: status 1, {last[0]!r}")


def client_argv(tmux):
    pane_pid = int(tmux.run("display-message", "-p", "#{pane_pid}").stdout.strip())
    kids = [p for p in map(int, filter(str.isdigit, os.listdir("/proc"))) if parent_pid(p) == pane_pid]
    for pid in kids:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0")[:-1]]
        if argv and argv[0].endswith("mosh2-client"):
            return pid, argv
    raise Failure(f"no mosh2-client process under the pane's shell {pane_pid} (children {kids})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--mode", choices=["ssh", "ssh-stock", "ssh-remote-ip", "local"], required=True)
    ap.add_argument("--timeout", type=float, default=30.0)
    args = ap.parse_args()
    mosh2 = os.path.join(args.build, "tools", "mosh2")
    tmp = tempfile.mkdtemp(prefix="mosh2-ssh-")
    tmux = Tmux(80, 24)
    sshd = None
    server_pid = None
    log = None
    try:
        need("tmux")
        env = dict(os.environ, HOME=tmp, LANG="C.UTF-8", TERM="xterm-256color")
        env.pop("LC_ALL", None)
        env.pop("MOSH_PREDICTION_DISPLAY", None)
        check_bad_option(mosh2)
        if args.mode == "local":
            launch = [mosh2, "--local", "--", "/bin/sh"]
            want_server = os.path.join(args.build, "tools", "mosh2-server")
        else:
            if args.mode == "ssh-remote-ip":
                require_ipv6_loopback()
            sshd, ssh_config, log = start_sshd(tmp, via_ipv6=args.mode == "ssh-remote-ip")
            check_no_server(mosh2, ssh_config, env)
            want_server = (need("mosh-server") if args.mode == "ssh-stock"
                           else os.path.join(args.build, "tools", "mosh2-server"))
            launch = [mosh2, f"--ssh=ssh -F {ssh_config}", f"--server={want_server}", "testhost", "--", "/bin/sh"]
            if args.mode == "ssh-remote-ip":  # the address from the host's $SSH_CONNECTION, no ProxyCommand
                launch.insert(1, "--experimental-remote-ip=remote")
        status_file = os.path.join(tmp, "mosh2-status")
        tmux.start(f"env HOME={tmp} LANG=C.UTF-8 TERM=xterm-256color PS1='$ ' "
                   f"{shlex.join(launch)}; echo $? > {status_file}")
        wait_for("the session's prompt", lambda: re.search(r"^[$#] ?$", tmux.screen(), re.M), args.timeout)
        marker = f"boot-{os.getpid()}"
        tmux.keys(f"echo {marker}-$((6*7)) $PPID", "Enter")
        m = wait_for("the command's output", lambda: re.search(rf"^{marker}-42 (\d+)\s*$", tmux.screen(), re.M),
                     args.timeout)
        server_pid = int(m.group(1))
        with open(f"/proc/{server_pid}/cmdline", "rb") as f:
            server_argv = [a.decode(errors="replace") for a in f.read().split(b"\0")[:-1]]
        if os.path.realpath(f"/proc/{server_pid}/exe") != os.path.realpath(want_server):
            raise Failure(f"the shell's parent is {server_argv}, not {want_server}")
        pid, argv = client_argv(tmux)
        # ssh-remote-ip: name resolution says 127.0.0.1, the server's SSH_CONNECTION ::1.
        address = "::1" if args.mode == "ssh-remote-ip" else "127.0.0.1"
        if len(argv) != 4 or not argv[1].startswith("-#") or argv[2] != address or not argv[3].isdigit():
            raise Failure(f"the client's argv is {argv}; expected mosh2-client '-# ...' {address} PORT")
        if any(re.search(r"(^|\s)[A-Za-z0-9+/]{21}[AQgw](\s|$)", a) for a in argv):
            raise Failure(f"something like a session key is in the client's argv: {argv}")
        # Only the server's own sockets: a cell running beside this one may use the same
        # port on the other loopback address.
        bound = [a for a, inode in udp_sockets(int(argv[3])) if server_pid in socket_owners(inode)]
        if bound != [address]:
            raise Failure(f"UDP port {argv[3]} is bound to {bound}, expected {address} only")
        print(f"ok: {args.mode}: shell under {server_argv[0]} pid {server_pid}, UDP {address}:{argv[3]}; "
              f"client pid {pid} argv {argv[0]} {argv[1]!r} {argv[2]} {argv[3]}")

        tmux.resize(100, 30)
        # Type once the session's pty has the new size. The pty itself is asked: the stock
        # server has no status file, and a server started through ssh writes its status
        # file wherever its own environment says.
        shell = session_shell(server_pid)
        wait_for("the session's pty to be 100x30", lambda: pty_size(shell) == (30, 100), args.timeout)
        tmux.keys("stty size", "Enter")
        wait_for("stty size to report 30 100", lambda: re.search(r"^30 100\s*$", tmux.screen(), re.M), args.timeout)
        print("ok: after a resize to 100x30, stty size says 30 100")

        tmux.keys("exit", "Enter")
        expect_clean_exit(tmux, "mosh2", status_file, server_pid, args.timeout, server_timeout=15)
        print(f"ok: {args.mode}: `exit` ended the session; mosh2 exited 0 and server pid {server_pid} is gone")
        return 0
    except (Failure, subprocess.SubprocessError, OSError) as e:
        print(f"FAIL: {args.mode}: {e}")
        print("screen:\n" + tmux.screen())
        if log and os.path.exists(log):
            print("sshd log:\n" + open(log).read())
        return 1
    finally:
        stop_sshd(sshd)
        tear_down(tmux, None, server_pid, tmp)


if __name__ == "__main__":
    sys.exit(main())
