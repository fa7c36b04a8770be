#!/usr/bin/env python3
"""Every failure of mosh2, mosh2-server and mosh2-client says what went wrong, with the
exact line and exit status (issue 9): 2 for a bad command line, 1 for a run-time failure.

A table of cases, each run as a user would type it: the launcher's cases get a pty as
stdin/stdout (the launcher refuses to run without one) and stderr on a pipe, which is
compared line by line (or, where ssh adds lines of its own, the last line only).
Extra checks per case: the `a$(touch FILE)` host creates no FILE, a missing client
starts no server (the --server script would leave a marker), the server prints no MOSH
CONNECT for a program that cannot run.

--mode local runs the cases that need no sshd; --mode ssh starts the test's own sshd on
127.0.0.1 (as ssh_bootstrap.py does) and runs the cases over ssh: a missing remote
server (exit 127), a session program that cannot run, and a client that fails after
MOSH CONNECT, whose server must then exit within the first-contact window (20 s).

Usage: failure_messages.py --build DIR --mode local|ssh
Exits 0 when every case matches, 1 with the differences."""

import argparse
import json
import os
import pty
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import termios
import time
import tty

from interop import Failure, need

HERE = os.path.dirname(os.path.abspath(__file__))


def run(argv, env, tty, timeout=60, stdin_devnull=False):
    """Runs argv; returns (status, stderr lines, stdout text). With tty, stdin and stdout
    are a fresh pty whose output is drained and returned as stdout."""
    if not tty:
        p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        return p.returncode, p.stderr.splitlines(), p.stdout
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL if stdin_devnull else slave, stdout=slave,
                         stderr=subprocess.PIPE, start_new_session=True)
    os.close(slave)
    out, err = b"", b""
    deadline = time.monotonic() + timeout
    open_fds = [master, p.stderr.fileno()]
    while open_fds and time.monotonic() < deadline:
        ready, _, _ = select.select(open_fds, [], [], 0.5)
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the pty's last writer is gone
                chunk = b""
            if not chunk:
                open_fds.remove(fd)
            elif fd == master:
                out += chunk
            else:
                err += chunk
    os.close(master)
    try:
        status = p.wait(timeout=max(1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=5)
        raise Failure(f"{argv} did not end within {timeout} s; stderr so far {err!r}")
    return status, err.decode(errors="replace").replace("\r", "").splitlines(), out.decode(errors="replace")


def check(name, got, status, lines, last_only=False):
    got_status, got_lines, _ = got
    want = lines[-1:] if last_only else lines
    seen = got_lines[-1:] if last_only else got_lines
    if got_status != status or seen != want:
        raise Failure(f"{name}: exit {got_status}, stderr {got_lines!r}; expected exit {status} and "
                      f"{'last line' if last_only else 'lines'} {want!r}")
    print(f"ok: {name}: exit {status}, {seen[-1] if seen else '(no output)'!r}")


def run_raw(argv, env, timeout=60):
    """Runs argv with stdin, stdout and stderr on one pty in raw mode (no output
    processing, as a terminal is while ssh or a full-screen program has it); returns
    (status, the bytes it wrote)."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    if termios.tcgetattr(slave)[1] & termios.OPOST:
        raise Failure("the pty kept OPOST after tty.setraw")
    p = subprocess.Popen(argv, env=env, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if not ready:
            if p.poll() is not None:
                break
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    try:
        status = p.wait(timeout=max(1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=5)
        raise Failure(f"{argv} did not end within {timeout} s; output so far {out!r}")
    return status, out


def start_server(server, env):
    """A detached mosh2-server on 127.0.0.1 running /bin/sh: (pid, port, key)."""
    p = subprocess.run([server, "new", "-p", "0", "-i", "127.0.0.1", "-l", "LANG=C.UTF-8", "--", "/bin/sh"],
                       env=env, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    connect = [line.split() for line in p.stdout.splitlines() if line.startswith("MOSH CONNECT ")]
    pids = [line for line in p.stderr.splitlines() if "detached, pid = " in line]
    if p.returncode != 0 or not connect or not pids:
        raise Failure(f"mosh2-server did not start: {p.returncode}, {p.stdout!r}, {p.stderr!r}")
    return int(pids[0].rsplit("=", 1)[1].strip(" ]")), int(connect[0][2]), connect[0][3]


def running(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def session_status(build, status_dir, pid):
    """The server's own status record, read with mosh2-status --json."""
    p = subprocess.run([os.path.join(build, "tools", "mosh2-status"), "--json", "--dir", status_dir, "--pid", str(pid)],
                       capture_output=True, text=True, timeout=20)
    sessions = json.loads(p.stdout).get("sessions", []) if p.returncode == 0 else []
    if len(sessions) != 1:
        raise Failure(f"mosh2-status --pid {pid} gave {p.returncode}, {p.stdout!r}, {p.stderr!r}")
    return sessions[0]


def check_client_without_terminal(build, client, server, env):
    """A client whose input is not a terminal refuses before its first datagram: the
    server's session has still never heard from a client, and it keeps running."""
    status_dir = env["MOSH2_STATUS_DIR"]
    pid, port, key = start_server(server, env)
    try:
        got = run([client, "127.0.0.1", str(port)], dict(env, MOSH_KEY=key), False)
        check("client: no terminal", got, 1,
              ["mosh2-client: standard input and output must be a terminal (MOSH2_ALLOW_NO_TTY=1 runs the session "
               "anyway)"])
        if got[2]:
            raise Failure(f"the refusing client wrote {got[2]!r} on its standard output")
        time.sleep(1)  # what an exiting client sends would have arrived by now
        record = session_status(build, status_dir, pid)
        if not running(pid) or record.get("peer") is not None or record.get("last_contact_unix_ms") is not None:
            raise Failure(f"after the refusal the server runs: {running(pid)}, its status {record!r}; expected a "
                          "live session no client has reached")
        print("ok: client: no terminal: the server's session lives on, never reached by that client")
    finally:
        try:
            os.kill(pid, 15)
        except OSError:
            pass


def hold_udp_port():
    """A UDP port held on the dual-stack wildcard (neither family can bind it)."""
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", 0))
    return s, s.getsockname()[1]


def processes_with(marker):
    """Pids whose command line contains marker (the test's own unique word)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(entry))
        except OSError:
            pass
    return found


def local_cases(build, tmp, env):
    tools = os.path.join(build, "tools")
    server, client, mosh2 = (os.path.join(tools, n) for n in ("mosh2-server", "mosh2-client", "mosh2"))

    # --- mosh2-server ---
    check("server: unknown long option", run([server, "new", "--bogus"], env, False), 2,
          ["mosh2-server: unknown option --bogus (see mosh2-server --help)"])
    check("server: options without new", run([server, "-p", "0"], env, False), 2,
          ['mosh2-server: expected "new" before -p: mosh2-server new [options] [-- command...] '
           "(see mosh2-server --help)"])
    check("server: port not a number", run([server, "new", "-p", "abc"], env, False), 2,
          ['mosh2-server: Bad UDP port range (abc): "abc" is not a number (see mosh2-server --help)'])
    check("server: a word that is not a command", run([server, "foo"], env, False), 2,
          ['mosh2-server: "foo" is neither "new" nor an IP address or a network interface of this machine '
           "(see mosh2-server --help)"])
    check("server: --idle-timeout before new", run([server, "--idle-timeout", "1h", "new"], env, False), 2,
          ['mosh2-server: expected "new" before --idle-timeout: mosh2-server new [options] [-- command...] '
           "(see mosh2-server --help)"])
    check("server: no such interface", run([server, "new", "-i", "nosuchif0"], env, False), 2,
          ["mosh2-server: -i nosuchif0: not an IP address or a network interface of this machine "
           "(see mosh2-server --help)"])
    got = run([server, "new", "--", "/nonexistent/cmd"], env, False)
    check("server: program that cannot run", got, 1,
          ["mosh2-server: cannot run /nonexistent/cmd: No such file or directory"])
    if "MOSH CONNECT" in got[2]:
        raise Failure(f"the server printed MOSH CONNECT for a program that cannot run: {got[2]!r}")
    plain = os.path.join(tmp, "not-executable")
    with open(plain, "w") as f:
        f.write("echo hi\n")
    os.chmod(plain, 0o644)
    check("server: program not executable", run([server, "new", "--", plain], env, False), 1,
          [f"mosh2-server: cannot run {plain}: Permission denied"])
    check("server: program not on PATH", run([server, "new", "--", "nosuch-mosh2-cmd"], env, False), 1,
          ["mosh2-server: cannot run nosuch-mosh2-cmd: No such file or directory"])
    held, port = hold_udp_port()
    try:
        check("server: port in use", run([server, "new", "-p", str(port), "--", "/bin/true"], env, False), 1,
              [f"mosh2-server: could not bind UDP port {port}: Address already in use"])
    finally:
        held.close()
    # An address that is not ours: a warning with the kernel's reason and no "ports 0-0";
    # the missing program then stops the server before it detaches.
    check("server: foreign -i address", run([server, "new", "-i", "192.0.2.1", "-p", "0", "--", "/nonexistent/cmd"],
                                            env, False), 1,
          ["mosh2-server: could not bind to 192.0.2.1: Cannot assign requested address; binding to any address "
           "instead", "mosh2-server: cannot run /nonexistent/cmd: No such file or directory"])

    # An interface without an address (lo of a fresh network namespace, still down):
    # the man page's promise, a warning and the wildcard address.
    check("server: interface without an address",
          run([need("unshare"), "-n", server, "new", "-i", "lo", "-p", "0", "--", "/nonexistent/cmd"], env, False), 1,
          ["mosh2-server: interface lo has no usable address; binding to any address",
           "mosh2-server: cannot run /nonexistent/cmd: No such file or directory"])

    # --- mosh2-client ---
    check("client: unknown long option", run([client, "--bogus"], env, False), 2,
          ["mosh2-client: unknown option --bogus (see mosh2-client --help)"])
    check("client: host name instead of an address", run([client, "localhost", "60001"], env, False), 2,
          ['mosh2-client: bad IP address "localhost" (a numeric IPv4 or IPv6 address is needed) '
           "(see mosh2-client --help)"])
    no_term = {k: v for k, v in env.items() if k != "TERM"}
    check("client -c: TERM unset", run([client, "-c"], no_term, False), 1,
          ["mosh2-client: TERM is not set, so the terminal's colours are unknown"])
    check("client -c: TERM unknown", run([client, "-c"], dict(env, TERM="nosuch-term"), False), 1,
          ['mosh2-client: TERM "nosuch-term" is not in the terminfo database'])
    for term, colors in (("xterm-256color", "256"), ("xterm", "8"), ("dumb", "-1")):
        got = run([client, "-c"], dict(env, TERM=term), False)
        if got[0] != 0 or got[2] != colors + "\n":
            raise Failure(f"TERM={term} mosh2-client -c gave {got}; expected {colors}")
    print("ok: client -c: 256, 8 and -1 for xterm-256color, xterm and dumb, as terminfo says")

    check_client_without_terminal(build, client, server, env)

    # --- mosh2 (the launcher) ---
    check("launcher: unknown option", run([mosh2, "--bogus", "host"], env, True), 2,
          ["mosh2: unknown option --bogus (see mosh2 --help)"])
    planted = os.path.join(tmp, "planted")
    check("launcher: shell in the host name", run([mosh2, f"a$(touch {planted})"], env, True), 2,
          [f'mosh2: bad host "a$(touch {planted})": only letters, digits and . _ : % @ [ ] - are allowed in a user '
           "or host name (see mosh2 --help)"])
    if os.path.exists(planted):
        raise Failure(f"{planted} was created: the host name reached a shell")
    check("launcher: no terminal", run([mosh2, "--local"], env, True, stdin_devnull=True), 1,
          ["mosh2: standard input and output must be a terminal (--allow-no-tty runs the session anyway)"])
    check("launcher: unknown TERM", run([mosh2, "--local"], dict(env, TERM="nosuch-term"), True), 1,
          ['mosh2: mosh2-client: TERM "nosuch-term" is not in the terminfo database'])
    check("launcher: --local with a foreign address", run([mosh2, "--local", "192.0.2.1"], env, True), 2,
          ["mosh2: --local needs an address of this machine, and 192.0.2.1 is not one (try 127.0.0.1)"])
    marker = os.path.join(tmp, "server-started")
    fake_server = os.path.join(tmp, "fake-server")
    with open(fake_server, "w") as f:
        f.write(f"#!/bin/sh\ntouch {marker}\nexec {server} \"$@\"\n")
    os.chmod(fake_server, 0o755)
    check("launcher: missing client", run([mosh2, "--local", "--client=/nonexistent", f"--server={fake_server}"],
                                          env, True), 1,
          ["mosh2: cannot run /nonexistent: No such file or directory (see --client)"])
    if os.path.exists(marker):
        raise Failure("with a missing client, the launcher still started the server")
    check("launcher: --local program that cannot run", run([mosh2, "--local", "--", "/nonexistent/cmd"], env, True), 1,
          ["mosh2-server: cannot run /nonexistent/cmd: No such file or directory",
           "mosh2: mosh2-server did not start (exit status 1)"])
    check("launcher: --ssh=false", run([mosh2, "--ssh=false", "localhost"], env, True), 1,
          ["mosh2: false failed (exit status 1) before connecting to localhost and printed nothing; "
           "check that `false localhost` works"])
    check("launcher: ssh to a closed port", run([mosh2, "--ssh=ssh -p 1", "localhost"], env, True), 1,
          ["mosh2: ssh -p 1 failed (exit status 255) before connecting to localhost; "
           "check that `ssh -p 1 localhost` works"], last_only=True)
    check("launcher: bad --idle-timeout", run([mosh2, "--idle-timeout", "soon", "box"], env, True), 2,
          ['mosh2: --idle-timeout: bad duration "soon": a number must come before each unit (expected e.g. 90s, '
           "12h, 7d) (see mosh2 --help)"])
    # An ssh that records its argv and fails: what the launcher ran, and the hint.
    fake_ssh = os.path.join(tmp, "fake-ssh")
    argv_log = os.path.join(tmp, "ssh-argv")
    with open(fake_ssh, "w") as f:
        f.write(f'#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done > {argv_log}\nexit 1\n')
    os.chmod(fake_ssh, 0o755)
    check("launcher: options after the host, the user in the hint",
          run([mosh2, f"--ssh={fake_ssh} -o BatchMode=yes", "nosuchuser@box", "-p", "60123", "--idle-timeout", "1h"],
              env, True), 1,
          [f"mosh2: {fake_ssh} -o BatchMode=yes failed (exit status 1) before connecting to box and printed nothing; "
           f"check that `{fake_ssh} -o BatchMode=yes nosuchuser@box` works"])
    remote = open(argv_log).read().splitlines()[-1]
    if "'-s' '-p' '60123' '--idle-timeout' '1h' '-l'" not in remote or "'--'" in remote:
        raise Failure(f"the remote command {remote!r} lacks -p 60123 --idle-timeout 1h, or has a command")
    print(f"ok: launcher: options after the host reach the server: {remote!r}")
    check("launcher: -6 in the hint", run([mosh2, f"--ssh={fake_ssh}", "-6", "box"], env, True), 1,
          [f"mosh2: {fake_ssh} failed (exit status 1) before connecting to box and printed nothing; "
           f"check that `{fake_ssh} -6 box` works"])
    # An ssh whose output is one endless line: one error line, not a crash or a buffer
    # that grows with it.
    long_ssh = os.path.join(tmp, "long-line-ssh")
    with open(long_ssh, "w") as f:
        f.write("#!/bin/sh\nprintf 'MOSH IP '; head -c 1048576 /dev/zero | tr '\\0' a; echo\n")
    os.chmod(long_ssh, 0o755)
    check("launcher: a 1 MB startup line", run([mosh2, f"--ssh={long_ssh}", "box"], env, True), 1,
          ["mosh2: a line of the bootstrap's output is longer than 64 KiB"])
    # On a raw terminal every line passed on, and the launcher's own, ends with CR LF.
    status, out = run_raw([mosh2, "--local", "--", "/nonexistent/cmd"], env)
    want = (b"mosh2-server: cannot run /nonexistent/cmd: No such file or directory\r\n"
            b"mosh2: mosh2-server did not start (exit status 1)\r\n")
    if status != 1 or not out.endswith(want) or b"\n" in out.replace(b"\r\n", b""):
        raise Failure(f"on a raw terminal: exit {status}, output {out!r}; expected exit 1 and {want!r}")
    print("ok: launcher: on a raw terminal the server's line and the launcher's end with CR LF")
    # A name that cannot resolve, in a network namespace of our own so that no resolver
    # query leaves the machine.
    unshare = need("unshare")
    check("launcher: unknown host", run([unshare, "-n", mosh2, "nosuchhost.invalid"], env, True), 1,
          ["mosh2: ssh failed (exit status 255) before connecting to nosuchhost.invalid; "
           "check that `ssh nosuchhost.invalid` works"], last_only=True)


def ssh_cases(build, tmp, env):
    from ssh_bootstrap import start_sshd, stop_sshd
    tools = os.path.join(build, "tools")
    server, mosh2 = os.path.join(tools, "mosh2-server"), os.path.join(tools, "mosh2")
    sshd, ssh_config, log = start_sshd(tmp)
    ssh = f"--ssh=ssh -F {ssh_config}"
    try:
        check("ssh: server not installed", run([mosh2, ssh, "--server=/nonexistent/mosh2-server", "testhost"],
                                               env, True), 1,
              ["mosh2: did not find the server's startup message (MOSH CONNECT); is /nonexistent/mosh2-server "
               "installed on testhost? (the remote shell did not find it, exit status 127)"], last_only=True)
        check("ssh: program that cannot run", run([mosh2, ssh, f"--server={server}", "testhost", "--",
                                                   "/nonexistent/cmd"], env, True), 1,
              ["mosh2-server: cannot run /nonexistent/cmd: No such file or directory",
               f"mosh2: {server} on testhost did not start (exit status 1)"])
        # A client that answers -c and then fails: the server it leaves behind must go
        # within the first-contact window the launcher asked for (20 s), not 60 s.
        client = os.path.join(tmp, "failing-client")
        with open(client, "w") as f:
            f.write('#!/bin/sh\n[ "$1" = -c ] && { echo 8; exit 0; }\necho "failing-client: gave up" >&2\nexit 1\n')
        os.chmod(client, 0o755)
        word = f"first-contact-{os.getpid()}"
        started = time.monotonic()
        got = run([mosh2, ssh, f"--server={server}", f"--client={client}", "testhost", "--", "/bin/echo", word],
                  env, True)
        check("ssh: client fails after MOSH CONNECT", got, 1, ["failing-client: gave up"])
        left = processes_with(word)
        if not left:
            raise Failure("no server process with the session's command was found after the client failed")
        deadline = started + 35
        while processes_with(word) and time.monotonic() < deadline:
            time.sleep(0.5)
        if processes_with(word):
            raise Failure(f"server pids {processes_with(word)} still run 35 s after a client that never came")
        gone_after = time.monotonic() - started
        if gone_after < 15:
            raise Failure(f"the server left after {gone_after:.0f} s, before the 20 s window could have run out")
        print(f"ok: ssh: the server a failed client left behind exited {gone_after:.0f} s after the start")
    except Failure:
        if log and os.path.exists(log):
            print("sshd log:\n" + open(log).read())
        raise
    finally:
        stop_sshd(sshd)
        for pid in processes_with(f"first-contact-{os.getpid()}"):
            try:
                os.kill(pid, 15)
            except OSError:
                pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--mode", choices=["local", "ssh"], required=True)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="mosh2-failures-")
    status_dir = os.path.join(tmp, "status")
    os.makedirs(status_dir, mode=0o700)
    env = dict(os.environ, HOME=tmp, LANG="C.UTF-8", TERM="xterm-256color", MOSH2_STATUS_DIR=status_dir)
    for name in ("LC_ALL", "MOSH_PREDICTION_DISPLAY", "SSH_CONNECTION"):
        env.pop(name, None)
    try:
        if args.mode == "local":
            local_cases(os.path.abspath(args.build), tmp, env)
        else:
            ssh_cases(os.path.abspath(args.build), tmp, env)
        return 0
    except (Failure, subprocess.SubprocessError, OSError) as e:
        print(f"FAIL: {e}")
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
