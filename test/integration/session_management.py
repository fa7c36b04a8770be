#!/usr/bin/env python3
"""Session management against live sessions on 127.0.0.1 (issue 12): three mosh2-server
sessions at once (one connected, one whose client was killed with SIGKILL, one never
connected) listed by mosh2-status with the right states, their numbers moving with
traffic, every document valid against docs/status.schema.json; `kill --detached-for 8s`
ends exactly the detached one, `kill PID` ends the connected one and its client exits 0;
a second uid sees none of the sessions and cannot use their control sockets (SO_PEERCRED
is tested by opening the directory to it for a moment); `--idle-timeout 3s` ends a
session after its client is killed; a burst of garbage sent at a live server from four
ports is counted but never logged (one address, not yet persistent), so fail2ban-regex
with docs/fail2ban's filter finds fewer matches than the jail's maxretry; the filter
matches the documented line format. Logout: a session whose
$XDG_RUNTIME_DIR goes away (as logind removes /run/user/UID) moves its status file and
control socket together to /tmp/mosh2-<uid>, where `kill --detached-for` selects it
(--dry-run there: that directory is shared with whatever else runs on the machine, so
only this session's pid is then ended, by `kill PID`).

Usage: session_management.py --build DIR --source DIR
Exits 0 on success, 1 with a reason. Every wait is bounded. Needs root (useradd)."""

import argparse
import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

from interop import Failure, Tmux, alive, need, wait_for


class Session:
    """A mosh2-server started with `new -p 0 -i 127.0.0.1`, its stdout and stderr in files
    (with -v the detached server keeps stderr, which a pipe would make us wait for)."""

    def __init__(self, build, env, home, name, extra=()):
        out_path, self.err_path = os.path.join(home, f"{name}.out"), os.path.join(home, f"{name}.err")
        with open(out_path, "w") as out, open(self.err_path, "w") as err:
            subprocess.run([os.path.join(build, "tools", "mosh2-server"), "new", "-p", "0", "-i", "127.0.0.1",
                            *extra, "-l", "LANG=C.UTF-8", "--", "/bin/sh"],
                           stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, timeout=20)
        text, errors = open(out_path).read(), open(self.err_path).read()
        m = re.search(r"MOSH CONNECT (\d+) ([A-Za-z0-9+/]{22})", text)
        pid = re.search(r"detached, pid = (\d+)", errors)
        if not m or not pid:
            raise Failure(f"server {name} did not start: {text!r} {errors!r}")
        self.name, self.port, self.key, self.pid = name, int(m.group(1)), m.group(2), int(pid.group(1))
        self.tmux = None
        self.exit_file = os.path.join(home, f"{name}.client-exit")

    def connect(self, build, status_dir, timeout):
        self.tmux = Tmux(80, 24)
        self.tmux.socket += "-" + self.name
        self.tmux.start(f"env MOSH_KEY={self.key} MOSH2_STATUS_DIR={status_dir} "
                        f"{os.path.join(build, 'tools', 'mosh2-client')} 127.0.0.1 {self.port}; "
                        f"echo $? > {self.exit_file}")
        wait_for(f"{self.name}'s shell prompt", lambda: re.search(r"^[$#]( |$)", self.tmux.screen(), re.M), timeout)

    def type_and_see(self, word, timeout):
        self.tmux.keys(f"echo {word}-$((6*7))", "Enter")
        wait_for(f"{word} on {self.name}'s screen",
                 lambda: re.search(rf"^{word}-42\s*$", self.tmux.screen(), re.M), timeout)


class Status:
    """mosh2-status with the test's environment; every --json document is validated."""

    def __init__(self, build, env, schema):
        self.exe = os.path.join(build, "tools", "mosh2-status")
        self.env = env
        import jsonschema  # python3-jsonschema (tools/install-deps)
        self.validator = jsonschema.Draft202012Validator(schema)

    def run(self, *args, user=None, env=None, expect=0):
        cmd = [self.exe, *args]
        if user:
            cmd = ["runuser", "-u", user, "--", "env", *[f"{k}={v}" for k, v in (env or {}).items()], *cmd]
        p = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=20)
        if expect is not None and p.returncode != expect:
            raise Failure(f"mosh2-status {' '.join(args)} exited {p.returncode}, expected {expect}: "
                          f"{p.stdout!r} {p.stderr!r}")
        return p

    def document(self, *args, user=None, env=None):
        doc = json.loads(self.run("--json", *args, user=user, env=env).stdout)
        errors = sorted(self.validator.iter_errors(doc), key=str)
        if errors:
            raise Failure(f"document does not match docs/status.schema.json: {errors[0].message} "
                          f"at {list(errors[0].absolute_path)}")
        return doc

    def sessions(self):
        return {s["pid"]: s for s in self.document()["sessions"]}


def client_pid_of(status, server):
    """The mosh2-client whose peer is `server` (from its own status file)."""
    for pid, s in status.sessions().items():
        if s["role"] == "client" and s["peer"] and s["peer"]["port"] == server.port:
            return pid
    return None


def expect_states(status, wanted):
    got = status.sessions()
    states = {pid: got[pid]["session_state"] if pid in got else "absent" for pid in wanted}
    return states if states == wanted else None


def reject_log_and_fail2ban(status, a, home, timeout):
    """Garbage at A from a stranger: 40 datagrams from one port, then one from each of
    three more ports. All are counted; none is logged, since one address (whatever its
    ports) is logged only after a minute of rejections (checked by the caller with
    fail2ban-regex once A has ended and flushed its log)."""
    ports = []
    for burst in (40, 1, 1, 1):
        stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        stranger.bind(("127.0.0.1", 0))
        ports.append(stranger.getsockname()[1])
        for n in range(burst):
            stranger.sendto(bytes([n]) * (5 if n % 2 else 60), ("127.0.0.1", a.port))
            time.sleep(0.005)
        stranger.close()

    def counted():
        dropped = status.sessions()[a.pid]["datagrams"]["dropped"]
        return dropped if dropped["too_short"] >= 20 and dropped["bad_tag"] >= 23 else None
    wait_for("the garbage to be counted", counted, timeout)
    return ports


def fail2ban_regex(source, home, name, lines):
    """fail2ban-regex with docs/fail2ban's filter on `lines` as rsyslog writes them (a
    date and the host before the program's own line); the number of lines matched."""
    log = os.path.join(home, name)
    with open(log, "w") as f:
        for l in lines:
            f.write(time.strftime("%b %e %H:%M:%S ") + "testhost " + l + "\n")
    conf = os.path.join(home, "fail2ban", "filter.d")
    os.makedirs(conf, exist_ok=True)
    shutil.copy("/etc/fail2ban/filter.d/common.conf", conf)
    shutil.copy(os.path.join(source, "docs", "fail2ban", "filter.d", "mosh2-server.conf"), conf)
    p = subprocess.run([need("fail2ban-regex"), log, os.path.join(conf, "mosh2-server.conf")],
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"Lines: (\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed", p.stdout)
    if p.returncode != 0 or not m or int(m.group(1)) != len(lines):
        raise Failure(f"fail2ban-regex failed on {lines}: {p.stdout[-1500:]} {p.stderr[-500:]}")
    return int(m.group(3))


def run_fail2ban(source, a, ports, home):
    jail = open(os.path.join(source, "docs", "fail2ban", "jail.d", "mosh2-server.conf")).read()
    maxretry = int(re.search(r"^maxretry\s*=\s*(\d+)$", jail, re.M).group(1))
    lines = [l for l in open(a.err_path).read().splitlines() if " rejected " in l]
    matched = fail2ban_regex(source, home, "syslog-live", lines)
    if matched >= maxretry:
        raise Failure(f"a burst from ports {ports} reaches the jail's maxretry={maxretry}: {lines}")
    if lines:
        raise Failure(f"a burst of garbage was logged: {lines}")
    # The filter on the documented format (test/control/reject_log_test.cpp checks that
    # the limiter writes exactly these): both addresses match, the summary does not.
    pid = a.pid
    sample = [f"mosh2-server[{pid}]: rejected 12 datagrams from 192.0.2.9 (bad_tag, too_short)",
              f"mosh2-server[{pid}]: rejected 10 datagrams from 2001:db8::1 (bad_tag)",
              f"mosh2-server[{pid}]: rejected 7 datagrams from other sources (table full)"]
    if fail2ban_regex(source, home, "syslog-sample", sample) != 2:
        raise Failure(f"the filter does not match the documented lines as it should: {sample}")
    print(f"fail2ban-regex: {matched} of A's lines matched (burst from ports {ports}); the format matches")


def command_line_checks(status, status_dir, live_pid, home):
    """Issue 9 case 9: a missing or unsafe --dir says why (exit 1); --pid=N is --pid N; a
    status file whose pid now belongs to a newer program is not a live session."""
    p = status.run("--dir", "/nonexistent", expect=1)
    if p.stderr != "mosh2-status: cannot use /nonexistent: No such file or directory; not reading it\n" or p.stdout:
        raise Failure(f"--dir /nonexistent said {p.stdout!r} {p.stderr!r}")
    unsafe = os.path.join(home, "unsafe")
    os.mkdir(unsafe)
    os.chmod(unsafe, 0o777)
    p = status.run("--json", "--dir", unsafe, expect=1)
    if p.stderr != f"mosh2-status: {unsafe} is writable by others; not reading it\n":
        raise Failure(f"an unsafe --dir said {p.stderr!r}")
    for form in ([f"--pid={live_pid}"], ["--pid", str(live_pid)]):
        listed = [x["pid"] for x in json.loads(status.run("--json", *form).stdout)["sessions"]]
        if listed != [live_pid]:
            raise Failure(f"{' '.join(form)} listed {listed}")
    # A file for a live process that started long after the session it describes.
    reused = os.getpid()
    path = os.path.join(status_dir, f"{reused}.json")
    with open(path, "w") as f:
        f.write(json.dumps({"schema": 1, "pid": reused, "started_unix_ms": int(time.time() * 1000) - 3_600_000}))
    p = status.run("--json", "-v", "--pid", str(reused), expect=1)
    if f"process {reused} is not the session's (pid reused); removed" not in p.stderr or os.path.exists(path):
        raise Failure(f"a reused pid was not recognised: {p.stderr!r}")
    print("command line: --dir problems named with exit 1, --pid=N, a reused pid is not live")


def planted_files_checks(status, status_dir, live_pids, home, uid, timeout):
    """Files planted among the live sessions' (issue 10): a symlink to /dev/zero, a FIFO
    and a forged file under live pids' names, and a directory of another uid holding a
    well-formed file. mosh2-status must not hang, must list only the real sessions and
    must say why with -v."""
    decoy = os.getppid()  # alive, and no session of ours
    zero, fifo = os.path.join(status_dir, f"{decoy}.json"), os.path.join(status_dir, "1.json")
    forged = os.path.join(status_dir, f"{os.getpid()}.json")
    os.symlink("/dev/zero", zero)
    os.mkfifo(fifo, 0o600)
    with open(forged, "w") as f:
        f.write(json.dumps({"pid": live_pids[0], "started_unix_ms": int(time.time() * 1000)}))
    theirs = os.path.join(home, "stranger")
    os.mkdir(theirs, 0o700)
    with open(os.path.join(theirs, f"{decoy}.json"), "w") as f:
        f.write(json.dumps({"pid": decoy, "started_unix_ms": int(time.time() * 1000)}))
    os.chown(theirs, uid, -1)
    try:
        p = status.run("--json", "-v")  # bounded by run()'s timeout: a planted file must not hang it
        listed = sorted(s["pid"] for s in json.loads(p.stdout)["sessions"] if s["role"] == "server")
        if listed != sorted(live_pids):
            raise Failure(f"with planted files, mosh2-status listed servers {listed}, expected {sorted(live_pids)}")
        for why in (f"{zero}: skipped, a symlink", f"{fifo}: skipped, not a regular file",
                    f"{forged}: skipped, its pid does not match its name"):
            if why not in p.stderr:
                raise Failure(f"-v did not say {why!r}: {p.stderr!r}")
        p = status.run("--json", "-v", "--dir", theirs, expect=1)
        if json.loads(p.stdout)["sessions"] or f"{theirs} belongs to uid {uid}" not in p.stderr:
            raise Failure(f"another uid's directory was read: {p.stdout!r} {p.stderr!r}")
        print("planted files: not listed, reasons given with -v; another uid's directory refused")
    finally:
        for path in (zero, fifo, forged):
            os.unlink(path)


def second_user_checks(status, status_dir, c, home, live_pids, timeout):
    user = f"m2t{os.getpid() % 100000}"
    subprocess.run(["useradd", "-M", "-r", "-s", "/usr/sbin/nologin", user], check=True, timeout=30,
                   capture_output=True)
    # The test's home must not be what stops them: only the status directory's own mode may.
    os.chmod(home, 0o711)
    try:
        uid = pwd.getpwnam(user).pw_uid
        planted_files_checks(status, status_dir, live_pids, home, uid, timeout)
        theirs = os.path.join(home, "theirs")
        os.mkdir(theirs)
        os.chown(theirs, uid, -1)
        os.chmod(theirs, 0o700)
        # With our directory named, with their own default, and with our directory as theirs.
        for env in ({"MOSH2_STATUS_DIR": status_dir}, {"MOSH2_STATUS_DIR": os.path.join(theirs, "s")},
                    {"XDG_RUNTIME_DIR": theirs}):
            doc = status.document(user=user, env=env)
            if doc["sessions"]:
                raise Failure(f"uid {uid} sees sessions: {doc['sessions']}")
        p = status.run("--json", user=user, env={"MOSH2_STATUS_DIR": status_dir})
        if f"mosh2-status: {status_dir} belongs to uid 0, not to this user (uid {uid}); not reading it" not in p.stderr:
            raise Failure(f"no reason given to the other user: {p.stderr!r}")
        # They cannot reach the socket through our 0700 directory ...
        sock = os.path.join(status_dir, f"{c.pid}.sock")
        probe = ("import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.settimeout(5)\n"
                 "try:\n s.connect(sys.argv[1])\nexcept OSError as e:\n print('refused', e.errno); sys.exit(0)\n"
                 # A refusing session may answer and close before it reads the request.
                 "try:\n s.sendall(b'{\"control\": 1, \"request\": \"shutdown\"}\\n')\nexcept BrokenPipeError:\n pass\n"
                 "print('reply', s.makefile().readline().strip())\n")
        out = subprocess.run(["runuser", "-u", user, "--", "python3", "-c", probe, sock], capture_output=True,
                             text=True, timeout=20).stdout
        if not out.startswith("refused 13"):
            raise Failure(f"uid {uid} reached the control socket through the directory: {out!r}")
        # ... and with the directory and socket opened to them for a moment, SO_PEERCRED refuses.
        os.chmod(status_dir, 0o711)
        os.chmod(sock, 0o666)
        try:
            p = subprocess.run(["runuser", "-u", user, "--", "python3", "-c", probe, sock], capture_output=True,
                               text=True, timeout=20)
            out = p.stdout + p.stderr
        finally:
            if os.path.exists(sock):  # a session that obeyed them is gone, socket and all
                os.chmod(sock, 0o600)
            os.chmod(status_dir, 0o700)
        if "permission denied: not this session's user" not in out or '"ok":false' not in out:
            raise Failure(f"uid {uid} was served by the control socket: {out!r} "
                          f"(status directory: {sorted(os.listdir(status_dir))}, C alive: {alive(c.pid)})")
        if not alive(c.pid):
            raise Failure("the other user's shutdown request ended the session")
        print(f"uid {uid}: no sessions listed, socket refused by the directory and by SO_PEERCRED")
    finally:
        os.chmod(home, 0o700)
        subprocess.run(["userdel", user], timeout=30, capture_output=True)


def logout_checks(build, env, status, home, timeout):
    run = os.path.join(home, "run-user")
    os.mkdir(run, 0o700)
    server_env = dict(env, XDG_RUNTIME_DIR=run)
    server_env.pop("MOSH2_STATUS_DIR")
    e = Session(build, server_env, home, "logout")
    try:
        first = os.path.join(run, "mosh2")
        wait_for("E's file and socket in $XDG_RUNTIME_DIR/mosh2",
                 lambda: {f"{e.pid}.json", f"{e.pid}.sock"} <= set(os.listdir(first)) if os.path.isdir(first)
                 else False, timeout)
        e.connect(build, os.path.join(home, "status"), timeout)
        e.type_and_see("logout", timeout)
        # SIGKILL: a client that quits would end the session.
        os.kill(wait_for("E's client in the list", lambda: client_pid_of(status, e), timeout), signal.SIGKILL)
        gone_at = time.monotonic()
        e.tmux.kill()
        shutil.rmtree(run)  # logout
        fallback = f"/tmp/mosh2-{os.geteuid()}"
        # The socket follows at once; the file on its next rewrite (within 30 s when idle).
        wait_for(f"E's file and socket in {fallback}",
                 lambda: os.path.exists(os.path.join(fallback, f"{e.pid}.json"))
                 and os.path.exists(os.path.join(fallback, f"{e.pid}.sock")), 45)
        time.sleep(max(0.0, gone_at + 9 - time.monotonic()))  # detached after 7 s of silence
        p = status.run("kill", "--detached-for", "8s", "--dry-run", "--dir", fallback)
        if f"would end session {e.pid}" not in p.stdout:
            raise Failure(f"after the logout, kill --detached-for 8s --dry-run did not select {e.pid}: "
                          f"{p.stdout!r} {p.stderr!r}")
        status.run("kill", str(e.pid), "--dir", fallback)
        wait_for("E to end", lambda: not alive(e.pid), timeout)
        print(f"logout: {e.pid}'s file and socket moved together to {fallback}; "
              "kill --detached-for selects it there and kill ends it")
    finally:
        if alive(e.pid):
            os.kill(e.pid, signal.SIGKILL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--timeout", type=float, default=20.0)
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("FAIL: this test creates a second user with useradd and must run as root")
    need("tmux")
    need("runuser")
    need("useradd")
    with open(os.path.join(args.source, "docs", "status.schema.json")) as f:
        schema = json.load(f)

    home = tempfile.mkdtemp(prefix="mosh2-sessmgmt-")
    status_dir = os.path.join(home, "status")
    env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="xterm-256color", HOME=home, SHELL="/bin/sh",
               PS1="$ ", MOSH2_STATUS_DIR=status_dir)
    status = Status(args.build, env, schema)
    sessions = []
    try:
        a = Session(args.build, env, home, "connected", ["-v"])
        b = Session(args.build, env, home, "detached")
        c = Session(args.build, env, home, "never")
        sessions += [a, b, c]
        a.connect(args.build, status_dir, args.timeout)
        b.connect(args.build, status_dir, args.timeout)
        a.type_and_see("hello", args.timeout)

        states = wait_for("three servers in their first states",
                          lambda: expect_states(status, {a.pid: "connected", b.pid: "connected",
                                                         c.pid: "never-connected"}), args.timeout)
        print(f"states: {states}")
        before = status.sessions()[a.pid]
        if before["command"] != ["/bin/sh"] or before["last_keystroke_unix_ms"] is None:
            raise Failure(f"command or keystroke missing: {before}")
        a.type_and_see("more", args.timeout)

        def moved():
            now = status.sessions()[a.pid]
            return now if all(now[k]["sent"] > before[k]["sent"] and now[k]["received"] > before[k]["received"]
                              for k in ("bytes", "datagrams")) else None
        after = wait_for("A's numbers to move", moved, args.timeout)
        print(f"A moved: bytes {before['bytes']} -> {after['bytes']}, datagrams sent "
              f"{before['datagrams']['sent']} -> {after['datagrams']['sent']}")

        b_client = wait_for("B's client in the list", lambda: client_pid_of(status, b), args.timeout)
        clients = [s for s in status.sessions().values() if s["role"] == "client"]
        if len(clients) != 2 or any(s["prediction"] is None or s["prediction"]["mode"] != "adaptive" for s in clients):
            raise Failure(f"clients not listed with their prediction mode: {clients}")
        os.kill(b_client, signal.SIGKILL)
        killed_at = time.monotonic()

        reject_ports = reject_log_and_fail2ban(status, a, home, args.timeout)

        wait_for("B to be detached", lambda: expect_states(status, {a.pid: "connected", b.pid: "detached",
                                                                     c.pid: "never-connected"}), 12)
        detached_after = time.monotonic() - killed_at
        if detached_after < 6:
            raise Failure(f"B was detached only {detached_after:.1f}s after its client died (documented: 7 s)")
        brief = status.run("--brief").stdout
        if brief != f"1 detached mosh2 session (pid {b.pid}); mosh2-status for details\n":
            raise Failure(f"--brief said {brief!r}")
        table = status.run().stdout
        for s, state in ((a, "connected"), (b, "detached"), (c, "never-connected")):
            if not re.search(rf"^\s*{s.pid}\s+server\s+{state}\s", table, re.M):
                raise Failure(f"the table does not show {s.pid} as {state}:\n{table}")
        print(table)

        time.sleep(max(0.0, killed_at + 10 - time.monotonic()))
        dry = status.run("kill", "--detached-for", "8s", "--dry-run").stdout
        if dry != f"mosh2-status: would end session {b.pid}\n":
            raise Failure(f"--dry-run listed {dry!r}")
        if not alive(b.pid):
            raise Failure("--dry-run ended a session")
        status.run("kill", "--detached-for", "8s")
        wait_for("the detached server to end", lambda: not alive(b.pid), args.timeout)
        if not alive(a.pid) or not alive(c.pid):
            raise Failure("kill --detached-for ended more than the detached session")

        command_line_checks(status, status_dir, c.pid, home)
        second_user_checks(status, status_dir, c, home, [a.pid, c.pid], args.timeout)

        status.run("kill", str(a.pid))
        code = wait_for("A's client to exit", lambda: os.path.exists(a.exit_file) and open(a.exit_file).read().strip(),
                        args.timeout)
        if code != "0":
            raise Failure(f"A's client exited {code} after kill; screen:\n{a.tmux.screen()}")
        wait_for("A to end", lambda: not alive(a.pid), args.timeout)
        run_fail2ban(args.source, a, reject_ports, home)

        status.run("kill", str(c.pid))
        wait_for("the never-connected server to end", lambda: not alive(c.pid), args.timeout)
        p = status.run("kill", str(c.pid), expect=1)
        if f"no live mosh2 session with pid {c.pid}" not in p.stderr:
            raise Failure(f"kill of a gone session said {p.stderr!r}")
        leftovers = [n for n in os.listdir(status_dir) if n.startswith(tuple(str(s.pid) for s in (a, b, c)))]
        if leftovers:
            raise Failure(f"files left behind: {leftovers}")

        # The idle clock starts at the last datagram the server had from its client, which
        # can be up to a heartbeat (3 s) before the kill: it is read from the server's
        # live status after the kill, and the server must still be alive 5 s after it
        # (1 s short of the 6 s timeout).
        d = Session(args.build, env, home, "idle", ["--idle-timeout", "6s"])
        sessions.append(d)
        d.connect(args.build, status_dir, args.timeout)
        d_client = wait_for("D's client in the list", lambda: client_pid_of(status, d), args.timeout)
        os.kill(d_client, signal.SIGKILL)
        wait_for("D's client to be gone", lambda: not alive(d_client), args.timeout)
        last_contact = status.document("--pid", str(d.pid))["sessions"][0]["last_contact_unix_ms"] / 1000
        if time.time() < last_contact + 5:
            time.sleep(last_contact + 5 - time.time())
            if not alive(d.pid):
                raise Failure("--idle-timeout 6s ended the session within 5 s of its client's last datagram")
        else:
            raise Failure(f"the last contact {time.time() - last_contact:.1f} s ago is older than a heartbeat")
        wait_for("the idle server to end", lambda: not alive(d.pid), 20)
        print(f"--idle-timeout 6s: ended {time.time() - last_contact:.1f}s after its client's last datagram")
        logout_checks(args.build, env, status, home, args.timeout)
        print("ok: session management on live sessions")
        return 0
    except Failure as e:
        print(f"FAIL: {e}")
        for s in sessions:
            if s.tmux:
                print(f"{s.name} screen:\n{s.tmux.screen()}")
            print(f"{s.name} stderr:\n{open(s.err_path).read()[-2000:]}")
        return 1
    finally:
        for s in sessions:
            if s.tmux:
                s.tmux.kill()
            if alive(s.pid):
                os.kill(s.pid, signal.SIGKILL)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
