#!/usr/bin/env python3
"""What mosh2-server does with its environment, checked live on 127.0.0.1 with a real
client in a tmux pane, against the stock mosh-server 1.4 where the two can be compared.

* The session key never leaks. It is printed once, on the MOSH CONNECT line, and must
  appear nowhere else a local process could read it: not in /proc/<pid>/cmdline or
  /proc/<pid>/environ of the server or of any process below it (the shell, and a
  background job of the shell), not in the client's /proc/<pid>/environ (mosh2-client
  reads MOSH_KEY and removes it at once; /proc shows the environment block the process
  was started with, so removing the variable from libc's list is not enough), not on
  the server's stderr, and not in the status files (server's and client's). The key is
  searched as its 22 base64 characters, as hex and as the 16 raw bytes. As a control,
  the shell's environment must show what the server put there (TERM,
  NCURSES_NO_UTF8_ACS, HOME), so that an unreadable environ cannot pass for a clean one.
* A missing locale is not fatal: with LANG=xx_YY.UTF-8 (not installed) and no LC_ALL
  or -l, mosh2-server starts, says so in one line on stderr, and the shell runs in a
  UTF-8 locale (`locale charmap` says UTF-8, and a UTF-8 string comes out intact). The
  stock server refuses to start there (checked, so that the documented difference stays
  true); what it prints is shown.
* Without XDG_RUNTIME_DIR and MOSH2_STATUS_DIR the status file goes to /tmp/mosh2-<uid>/
  (docs/status.md), the session works, and the server removes the file when it exits.
* MOSH_SERVER_NETWORK_TMOUT=3: once the client goes silent (SIGKILL, right after a
  keystroke, so its last state is fresh) the server exits, and not before 2.5 s; both
  times are printed for mosh2 and stock side by side, and stock must exit too (how much
  later than 3 s is not asserted: no wall-clock upper bounds in tests).
* MOSH_SERVER_SIGNAL_TMOUT and SIGUSR1, mosh2 and stock side by side: (a) unset, SIGUSR1
  1 s after the client went silent ends the server; (b) at 4, SIGUSR1 1 s into the
  silence leaves the server running (still alive 2 s later) and SIGUSR1 5 s into it ends
  it; (c) at 4, SIGUSR1 while the client is active leaves the session working. Each
  outcome must be the same for both servers, and a server that is already gone when a
  SIGUSR1 is due fails the check (it did not wait for the signal).

Each check prints one `ok: ...` line with what it measured; every check runs even when
an earlier one failed, and the test fails if any did. Checks 4 and 5 connect mosh2-client
to both servers, so that only the server differs; their mosh2 and stock sessions run at
the same time, side by side, to keep the test short (about 20 s in all).

Usage: server_environment.py --build DIR
Exits 0 on success, 1 with a reason. Every wait is bounded."""

import argparse
import base64
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from interop import Failure, Tmux, alive, need, start_server, tear_down, wait_for

KEY_RE = re.compile(r"MOSH CONNECT (\d+) ([A-Za-z0-9+/]{22})")
PID_RE = re.compile(r"detached, pid = (\d+)")
PROMPT_RE = re.compile(r"^[$#]( |$)", re.M)
FALLBACK_RE = re.compile(r"locale LANG=xx_YY\.UTF-8 is not a usable UTF-8 locale here; using C\.UTF-8")
SCREEN_TIMEOUT = 15  # seconds allowed for anything to show on the client's screen
MAX_PROCS = 256      # bound on the process-tree walk
MAX_DEPTH = 16


def server_exe(build, kind):
    return need("mosh-server") if kind == "stock" else os.path.join(build, "tools", "mosh2-server")


def client_exe(build, kind):
    return need("mosh-client") if kind == "stock" else os.path.join(build, "tools", "mosh2-client")


def read_proc(pid, name):
    """Bytes of /proc/<pid>/<name>; Failure if unreadable (a silent empty read would let
    a leak pass)."""
    try:
        with open(f"/proc/{pid}/{name}", "rb") as f:
            return f.read()
    except OSError as e:
        raise Failure(f"cannot read /proc/{pid}/{name}: {e}") from None


def proc_table():
    """{pid: (ppid, comm)} for every process, from /proc/*/stat."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if fields and fields[0] != "Z":
            table[int(entry)] = (int(fields[1]), comm)
    return table


def descendants(root):
    """[(pid, depth)] of every live process below `root`, breadth first, bounded."""
    children = {}
    for pid, (ppid, _) in proc_table().items():
        children.setdefault(ppid, []).append(pid)
    found, frontier = [], [root]
    for depth in range(1, MAX_DEPTH + 1):
        frontier = [c for p in frontier for c in sorted(children.get(p, []))]
        if not frontier:
            break
        found += [(p, depth) for p in frontier]
        if len(found) > MAX_PROCS:
            raise Failure(f"more than {MAX_PROCS} processes below pid {root}")
    return found


def comm_of(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def environ_dict(pid):
    out = {}
    for item in read_proc(pid, "environ").split(b"\0"):
        name, sep, value = item.partition(b"=")
        if sep:
            out[name.decode(errors="replace")] = value.decode(errors="replace")
    return out


def wait_gone(pid, limit):
    """Seconds until `pid` is gone (polled every 50 ms), or None after `limit` seconds."""
    start = time.monotonic()
    for _ in range(int(limit / 0.05) + 2):
        if not alive(pid):
            return time.monotonic() - start
        if time.monotonic() - start >= limit:
            break
        time.sleep(0.05)
    return None if alive(pid) else time.monotonic() - start


def sleep_until(when):
    time.sleep(max(0.0, when - time.monotonic()))


class Lab:
    """Everything the test starts, so that `finally` can end all of it: sessions (each
    with its tmux server, client and daemonized server pid) and stray pids."""

    def __init__(self, build, home):
        self.build, self.home = build, home
        self.sessions, self.pids = [], []
        self.strays = []  # processes of the sessions' shells, ended before the servers
        self.count = 0
        self.status_dir = os.path.join(home, "status")
        self.base_env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="xterm-256color",
                             HOME=home, SHELL="/bin/sh", PS1="$ ", MOSH2_STATUS_DIR=self.status_dir)
        for name in ("MOSH_SERVER_NETWORK_TMOUT", "MOSH_SERVER_SIGNAL_TMOUT", "MOSH_KEY"):
            self.base_env.pop(name, None)

    def env(self, drop=(), **extra):
        env = dict(self.base_env, **extra)
        for name in drop:
            env.pop(name, None)
        return env

    def session(self, kind, key, port, pid, label):
        self.count += 1
        s = Session(self, kind, key, port, pid, f"{label}-{self.count}")
        self.sessions.append(s)
        return s

    def close(self):
        for pid in self.strays:
            if comm_of(pid) == "sleep":
                os.kill(pid, signal.SIGKILL)
        for s in self.sessions:
            s.close()
        for pid in self.pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


class Session:
    """One server (already started) and, once connected, one client in its own tmux."""

    def __init__(self, lab, kind, key, port, pid, name):
        self.lab, self.kind, self.key, self.port, self.pid, self.name = lab, kind, key, port, pid, name
        self.tmux = Tmux(80, 24)
        self.tmux.socket = f"mosh2-senv-{os.getpid()}-{name}"
        self.scratch = tempfile.mkdtemp(prefix=f"{name}-", dir=lab.home)
        self.client_pid = None
        self.client_kind = None
        self.typed = 0
        self.closed = False

    def connect(self, client_kind="mosh2"):
        exe = client_exe(self.lab.build, client_kind)
        self.client_kind = client_kind
        env = {"MOSH_KEY": self.key, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": self.lab.home,
               "MOSH2_STATUS_DIR": self.lab.status_dir}
        self.tmux.start("env " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
                        + f" {shlex.quote(exe)} 127.0.0.1 {self.port}")
        wait_for(f"the shell prompt ({self.name})", lambda: PROMPT_RE.search(self.tmux.screen()), SCREEN_TIMEOUT)
        self.client_pid = wait_for(f"the client process ({self.name})", self.find_client, 5)
        self.type_and_see()

    def find_client(self):
        """The client's pid: the pane's process (after `env` exec'd the client) or a
        process below it, recognised by its executable."""
        out = self.tmux.run("display", "-p", "#{pane_pid}", check=False).stdout.strip()
        if not out.isdigit():
            return None
        want = os.path.basename(client_exe(self.lab.build, self.client_kind))[:15]
        for pid in [int(out)] + [p for p, _ in descendants(int(out))]:
            if comm_of(pid) == want:
                return pid
        return None

    def type_and_see(self, timeout=SCREEN_TIMEOUT):
        """Types a command and waits for its output: the shell runs and the link works."""
        self.typed += 1
        n = self.typed
        self.tmux.keys(f"echo typed-{n}-$((6*7))", "Enter")
        wait_for(f"output of command {n} ({self.name})",
                 lambda: re.search(rf"^typed-{n}-42\s*$", self.tmux.screen(), re.M), timeout)

    def silence(self):
        """The client vanishes without a word: SIGKILL. Returns when it happened."""
        os.kill(self.client_pid, signal.SIGKILL)
        return time.monotonic()

    def close(self):
        if self.closed:
            return
        self.closed = True
        if self.client_pid and alive(self.client_pid):
            os.kill(self.client_pid, signal.SIGKILL)
        tear_down(self.tmux, None, self.pid, self.scratch)


def launch(lab, kind, env, label):
    """Starts a server (no -l) and returns (session or None, exit status, stdout, stderr)."""
    proc = subprocess.run([server_exe(lab.build, kind), "new", "-p", "0", "-i", "127.0.0.1", "--", "/bin/sh"],
                          capture_output=True, text=True, env=env, timeout=20)
    m, pid = KEY_RE.search(proc.stdout), PID_RE.search(proc.stderr)
    if pid:
        lab.pids.append(int(pid.group(1)))
    session = lab.session(kind, m.group(2), int(m.group(1)), int(pid.group(1)), label) if m and pid else None
    return session, proc.returncode, proc.stdout, proc.stderr


def start_session(lab, kind, env, label):
    port, key, pid = start_server(kind, lab.build, env)
    lab.pids.append(pid)
    return lab.session(kind, key, port, pid, label)


def status_of(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


# 1 ---------------------------------------------------------------------------------------

def check_key_never_leaks(lab):
    env = lab.env()
    s, status, out, err = launch(lab, "mosh2", env, "key")
    if not s:
        raise Failure(f"mosh2-server did not start (exit {status}): {out!r} {err!r}")
    raw = base64.b64decode(s.key + "==")
    needles = {"base64": s.key.encode(), "hex": raw.hex().encode(), "raw": raw}

    def leaks(data):
        return [name for name, needle in needles.items() if needle in data]

    s.connect()
    # A grandchild of the server: a background job of the shell.
    s.tmux.keys("sleep 47 & echo key-in-shell:${MOSH_KEY:-none}", "Enter")
    wait_for("the shell's view of MOSH_KEY", lambda: re.search(r"^key-in-shell:\S+\s*$", s.tmux.screen(), re.M),
             SCREEN_TIMEOUT)
    found = []
    if not re.search(r"^key-in-shell:none\s*$", s.tmux.screen(), re.M):
        found.append("the shell's $MOSH_KEY")
    server_file = os.path.join(lab.status_dir, f"{s.pid}.json")
    client_file = os.path.join(lab.status_dir, f"{s.client_pid}.json")
    wait_for("a status file with the client as peer",
             lambda: (status_of(server_file) or {}).get("peer") is not None, 5)
    wait_for("the client's status file", lambda: status_of(client_file), 5)
    tree = wait_for("the background sleep below the shell",
                    lambda: (lambda t: t if any(comm_of(p) == "sleep" for p, _ in t) else None)(descendants(s.pid)),
                    5)
    lab.strays += [p for p, _ in tree if comm_of(p) == "sleep"]

    procs = [(s.pid, 0)] + tree
    for pid, _ in procs:
        for name in ("cmdline", "environ"):
            if hits := leaks(read_proc(pid, name)):
                found.append(f"/proc/{pid}/{name} ({comm_of(pid)}, depth {dict(procs)[pid]}): {hits}")
    shells = [p for p, d in tree if d == 1 and comm_of(p) == "sh"]
    if len(shells) != 1:
        raise Failure(f"expected one shell right below the server, found {[(p, comm_of(p)) for p, _ in tree]}")
    shell_env = environ_dict(shells[0])
    want = {"TERM": ("xterm", "xterm-256color"), "NCURSES_NO_UTF8_ACS": ("1",), "HOME": (lab.home,)}
    bad = {k: shell_env.get(k) for k, ok in want.items() if shell_env.get(k) not in ok}
    if bad:
        raise Failure(f"the shell's environ (pid {shells[0]}) lacks what the server sets: {bad}; "
                      "reading environ may not work here")
    client_environ = read_proc(s.client_pid, "environ")
    if b"HOME=" + lab.home.encode() not in client_environ:
        raise Failure(f"the client's environ (pid {s.client_pid}) lacks HOME={lab.home}; reading it may not work")
    if hits := leaks(client_environ):
        found.append(f"the client's /proc/{s.client_pid}/environ ({comm_of(s.client_pid)}): {hits} (that file shows "
                     "the environment block the process started with: unsetenv() drops MOSH_KEY from libc's "
                     "list but leaves its bytes there; they must be overwritten)")
    if hits := leaks(err.encode()):
        found.append(f"the server's stderr: {hits}")
    files = sorted(os.listdir(lab.status_dir))
    for name in files:
        if not os.path.isfile(os.path.join(lab.status_dir, name)):
            continue  # the control sockets (<pid>.sock) hold no data
        with open(os.path.join(lab.status_dir, name), "rb") as f:
            if hits := leaks(f.read()):
                found.append(f"status file {name}: {hits}")
    if found:
        raise Failure("the session key leaked into: " + "; ".join(found))
    print(f"ok: key absent from cmdline and environ of {len(procs)} processes (server {s.pid} and below: "
          + ", ".join(f"{comm_of(p)} {p}" for p, _ in tree) + f"), the client's environ ({len(client_environ)} bytes), "
          f"stderr ({len(err)} bytes), {len(files)} status files; shell has TERM={shell_env['TERM']}")


# 2 ---------------------------------------------------------------------------------------

def check_missing_locale(lab):
    env = lab.env(drop=("LC_ALL", "LC_CTYPE", "LANGUAGE"), LANG="xx_YY.UTF-8")
    # What the stock server does, for the record only.
    stock, status, out, err = launch(lab, "stock", env, "locale-stock")
    lines = [l for l in err.splitlines() if l.strip()]
    print(f"stock mosh-server with LANG=xx_YY.UTF-8: exit {status}, "
          + ("started" if stock else "did not start") + f"; stderr ({len(lines)} lines) begins "
          + " | ".join(lines[:4]))
    if stock:
        stock.close()
        raise Failure("the stock mosh-server started with LANG=xx_YY.UTF-8; the fallback to C.UTF-8 "
                      "is documented as a difference from it (README, docs/man), and that is no longer true")
    if status == 0:
        raise Failure("the stock mosh-server printed no session with LANG=xx_YY.UTF-8 but exited 0")

    s, status, out, err = launch(lab, "mosh2", env, "locale")
    if not s:
        raise Failure(f"mosh2-server did not start with LANG=xx_YY.UTF-8 (exit {status}): {out!r} {err!r}")
    mentions = [l for l in err.splitlines() if "locale" in l.lower() or "C.UTF-8" in l]
    if len(mentions) != 1 or not FALLBACK_RE.search(mentions[0]):
        raise Failure(f"expected one line on stderr about the fallback to C.UTF-8, got {mentions}: {err!r}")
    s.connect()
    s.tmux.keys("locale charmap 2>/dev/null; printf 'utf8:%s\\n' 日本語", "Enter")
    wait_for("`locale charmap` and printf in the session", lambda: re.search(r"^utf8:", s.tmux.screen(), re.M),
             SCREEN_TIMEOUT)
    screen = s.tmux.screen()
    charmap = re.findall(r"^(UTF-8|ANSI_X3\.4-1968|[A-Z0-9_.-]+)\s*$", screen, re.M)
    if "UTF-8" not in charmap or "utf8:日本語" not in screen:
        raise Failure(f"the shell does not run in a UTF-8 locale: charmap {charmap}; screen:\n{screen}")
    shell = [p for p, d in descendants(s.pid) if d == 1]
    shell_env = environ_dict(shell[0]) if shell else {}
    print(f"ok: mosh2-server with LANG=xx_YY.UTF-8 started and said {mentions[0]!r}; the shell's locale charmap "
          f"is UTF-8 (LANG={shell_env.get('LANG')}, LC_CTYPE={shell_env.get('LC_CTYPE')}, "
          f"LC_ALL={shell_env.get('LC_ALL')}) and 日本語 came through")
    s.close()


# 3 ---------------------------------------------------------------------------------------

def check_no_runtime_dir(lab):
    env = lab.env(drop=("XDG_RUNTIME_DIR", "MOSH2_STATUS_DIR"))
    directory = f"/tmp/mosh2-{os.getuid()}"
    s = start_session(lab, "mosh2", env, "xdg")
    path = os.path.join(directory, f"{s.pid}.json")
    try:
        wait_for(f"the status file {path}", lambda: status_of(path), 5)
        s.connect()
        wait_for("the status file to show the client", lambda: (status_of(path) or {}).get("peer"), 5)
        st = os.lstat(directory)
        if st.st_uid != os.getuid() or st.st_mode & 0o077 or not os.path.isdir(directory) or os.path.islink(directory):
            raise Failure(f"{directory} has mode {st.st_mode & 0o7777:o}, owner {st.st_uid}: not a private directory")
        doc = status_of(path)
        if doc.get("role") != "server" or doc.get("pid") != s.pid or doc["peer"].get("address") != "127.0.0.1":
            raise Failure(f"unexpected status in {path}: {doc}")
        s.tmux.keys("exit", "Enter")
        took = wait_gone(s.pid, 10)
        if took is None:
            raise Failure("the server did not exit within 10 s of the shell's exit")
        for _ in range(20):  # bounded: 2 s for the file to go
            if not os.path.exists(path):
                break
            time.sleep(0.1)
        else:
            raise Failure(f"the server exited but left its status file {path} behind")
        print(f"ok: without XDG_RUNTIME_DIR the status file was {path} (peer {doc['peer']['address']}:"
              f"{doc['peer']['port']}); the server exited {took:.1f} s after `exit` and removed it")
    finally:
        s.close()
        if os.path.exists(path) and not alive(s.pid):
            os.unlink(path)  # ours, and its server is gone (killed, or it forgot to)


# 4 ---------------------------------------------------------------------------------------

def check_network_timeout(lab):
    sessions = {kind: start_session(lab, kind, lab.env(MOSH_SERVER_NETWORK_TMOUT="3"), f"net-{kind}")
                for kind in ("mosh2", "stock")}
    for s in sessions.values():
        s.connect()
    went_silent = {}
    for kind, s in sessions.items():
        s.type_and_see()  # a fresh client state just before the silence
        went_silent[kind] = s.silence()
    times = {}
    for kind, s in sessions.items():
        took = wait_gone(s.pid, max(0.0, went_silent[kind] + 15 - time.monotonic()))
        times[kind] = None if took is None else time.monotonic() - went_silent[kind]
    fmt = {k: "still running after 15 s" if t is None else f"{t:.1f} s" for k, t in times.items()}
    print(f"MOSH_SERVER_NETWORK_TMOUT=3, client SIGKILLed: mosh2-server exited after {fmt['mosh2']}, "
          f"stock mosh-server after {fmt['stock']}")
    # The clock starts at the client's last state (type_and_see just before the kill):
    # neither may exit before the timeout; how much later is not asserted (bench/, not here).
    m, st = times["mosh2"], times["stock"]
    if m is None or m < 2.5:
        raise Failure(f"mosh2-server exited after {fmt['mosh2']}, expected after the 3 s timeout "
                      f"(stock: {fmt['stock']})")
    if st is None:
        raise Failure(f"mosh2-server exited after {fmt['mosh2']} but stock is {fmt['stock']}: the cell proves nothing")
    print(f"ok: network timeout 3 s: mosh2 {m:.1f} s, stock {st:.1f} s after the client went silent")


# 5 ---------------------------------------------------------------------------------------

def usr1_runs(lab, signal_tmout, schedule, label):
    """For mosh2 and stock side by side: connect, type, SIGKILL the client, then follow
    `schedule`, a list of (seconds after the silence, action), action "usr1" or "alive?".
    Returns {kind: [(action, at, result)]}; the result of "alive?" is whether the server
    was alive, of the last "usr1" the seconds until the server exited (None: not within
    20 s, a bound against a hang: with its client silent and no network timeout nothing
    else ends the server), of an earlier "usr1" "survived" or "ended" (whether the server was alive right
    before the next action). A server already gone when a SIGUSR1 is due gets "gone
    before" for that SIGUSR1 and everything after it: the signal was never sent."""
    extra = {"MOSH_SERVER_SIGNAL_TMOUT": str(signal_tmout)} if signal_tmout is not None else {}
    sessions = {kind: start_session(lab, kind, lab.env(**extra), f"{label}-{kind}") for kind in ("mosh2", "stock")}
    for s in sessions.values():
        s.connect()
    t0 = {}
    for kind, s in sessions.items():
        s.type_and_see()
        t0[kind] = s.silence()
    events = sorted((t0[kind] + at, kind, action, at) for kind in sessions for at, action in schedule)
    last = max(i for i, (_, action) in enumerate(schedule) if action == "usr1")
    results = {kind: [] for kind in sessions}
    for when, kind, action, at in events:
        sleep_until(when)
        pid = sessions[kind].pid
        done = results[kind]
        if done and done[-1][0] == "usr1" and done[-1][2] == "sent":
            done[-1][2] = "survived" if alive(pid) else "ended"
        if any(r[2] == "gone before" for r in done):
            done.append([action, at, "gone before"])
        elif action == "usr1" and not alive(pid):
            done.append([action, at, "gone before"])
        elif action == "usr1":
            os.kill(pid, signal.SIGUSR1)
            done.append([action, at, "sent" if len(done) < last else time.monotonic()])
        else:
            done.append([action, at, alive(pid)])
    for kind, s in sessions.items():
        sent = results[kind][last][2]
        if sent != "gone before":
            took = wait_gone(s.pid, max(0.0, sent + 20 - time.monotonic()))
            results[kind][last][2] = None if took is None else time.monotonic() - sent
    for s in sessions.values():
        s.close()
    return results


def require_all_sent(r, label):
    """Every SIGUSR1 of the schedule reached a live server, for both kinds."""
    for kind, result in r.items():
        gone = [at for action, at, value in result if action == "usr1" and value == "gone before"]
        if gone:
            raise Failure(f"{label}: the {kind} server was already gone when SIGUSR1 was due at "
                          f"+{gone[0]:g} s: it exited without the signal ({describe(result)})")


def describe(result):
    out = []
    for action, at, value in result:
        if action == "alive?":
            out.append(f"{'alive' if value else 'gone'} at +{at:g} s")
        elif value == "gone before":
            out.append(f"gone before SIGUSR1 at +{at:g} s")
        elif value in ("survived", "ended"):
            out.append(f"SIGUSR1 at +{at:g} s {value}")
        elif value is None:
            out.append(f"SIGUSR1 at +{at:g} s -> still running 20 s later")
        else:
            out.append(f"SIGUSR1 at +{at:g} s -> exited {value:.1f} s later")
    return ", ".join(out)


def check_usr1_no_timeout(lab):
    r = usr1_runs(lab, None, [(1.0, "usr1")], "usr1")
    print(f"SIGNAL_TMOUT unset, client silent: mosh2 {describe(r['mosh2'])}; stock {describe(r['stock'])}")
    require_all_sent(r, "SIGNAL_TMOUT unset")
    m, st = r["mosh2"][0][2], r["stock"][0][2]
    if m is None:
        raise Failure("SIGUSR1 did not end mosh2-server (SIGNAL_TMOUT unset, client silent)")
    if st is None:
        raise Failure(f"mosh2 exited on SIGUSR1 after {m:.1f} s but stock did not")
    print(f"ok: SIGUSR1 without SIGNAL_TMOUT: mosh2 exited {m:.1f} s after it, stock {st:.1f} s")


def check_usr1_with_timeout(lab):
    schedule = [(1.0, "usr1"), (3.0, "alive?"), (5.0, "usr1")]
    r = usr1_runs(lab, 4, schedule, "usr1-tmout")
    print(f"SIGNAL_TMOUT=4, client silent: mosh2 {describe(r['mosh2'])}; stock {describe(r['stock'])}")
    require_all_sent(r, "SIGNAL_TMOUT=4")

    def verdict(result):
        return (result[0][2], result[1][2], result[2][2] is not None)

    if r["mosh2"][0][2] != "survived" or r["mosh2"][1][2] is not True:
        raise Failure("SIGUSR1 1 s into the silence ended mosh2-server although SIGNAL_TMOUT=4")
    if r["mosh2"][2][2] is None:
        raise Failure("SIGUSR1 5 s into the silence did not end mosh2-server (SIGNAL_TMOUT=4)")
    if verdict(r["mosh2"]) != verdict(r["stock"]):
        raise Failure(f"mosh2 and stock differ: mosh2 {describe(r['mosh2'])}; stock {describe(r['stock'])}")
    print(f"ok: SIGNAL_TMOUT=4: early SIGUSR1 ignored by both; late SIGUSR1 ended mosh2 after "
          f"{r['mosh2'][2][2]:.1f} s, stock after {r['stock'][2][2]:.1f} s")


def check_usr1_active_client(lab):
    sessions = {kind: start_session(lab, kind, lab.env(MOSH_SERVER_SIGNAL_TMOUT="4"), f"usr1-active-{kind}")
                for kind in ("mosh2", "stock")}
    for s in sessions.values():
        s.connect()
    for s in sessions.values():
        s.type_and_see()
        os.kill(s.pid, signal.SIGUSR1)
    time.sleep(1.0)
    outcome = {}
    for kind, s in sessions.items():
        try:
            s.type_and_see(timeout=5)
            outcome[kind] = "typing still works" if alive(s.pid) else "server gone"
        except Failure as e:
            outcome[kind] = f"session over ({e}; server {'alive' if alive(s.pid) else 'gone'})"
    for s in sessions.values():
        s.close()
    print(f"SIGNAL_TMOUT=4, SIGUSR1 with an active client: mosh2: {outcome['mosh2']}; stock: {outcome['stock']}")
    if outcome["mosh2"] != "typing still works":
        raise Failure(f"SIGUSR1 ended an active mosh2 session although SIGNAL_TMOUT=4: {outcome['mosh2']}")
    if outcome["stock"] != outcome["mosh2"]:
        raise Failure(f"mosh2 and stock differ: mosh2: {outcome['mosh2']}; stock: {outcome['stock']}")
    print("ok: SIGNAL_TMOUT=4: SIGUSR1 with an active client left the session working, mosh2 and stock alike")


CHECKS = [
    ("key-never-leaks", check_key_never_leaks),
    ("missing-locale", check_missing_locale),
    ("no-xdg-runtime-dir", check_no_runtime_dir),
    ("network-timeout", check_network_timeout),
    ("usr1-without-signal-timeout", check_usr1_no_timeout),
    ("usr1-with-signal-timeout", check_usr1_with_timeout),
    ("usr1-active-client", check_usr1_active_client),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--only", action="append", choices=[name for name, _ in CHECKS], help="run only these checks")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    try:
        need("tmux")
        need("mosh-server")
        need("mosh-client")
        for tool in ("mosh2-server", "mosh2-client"):
            if not os.access(os.path.join(build, "tools", tool), os.X_OK):
                raise Failure(f"{tool} is not built in {build}/tools")
    except Failure as e:
        print(f"FAIL: {e}")
        return 1
    # tmux (and so the client's terminal) must run in UTF-8 whatever the caller's locale.
    os.environ.update(LANG="C.UTF-8", LC_ALL="C.UTF-8")
    failures = []
    started = time.monotonic()
    for name, check in CHECKS:
        if args.only and name not in args.only:
            continue
        home = tempfile.mkdtemp(prefix=f"mosh2-senv-{name}-")
        lab = Lab(build, home)
        t = time.monotonic()
        try:
            check(lab)
        except Failure as e:
            failures.append(name)
            print(f"FAIL: {name}: {e}")
            for s in lab.sessions:
                if not s.closed and s.client_pid:
                    print(f"screen of {s.name}:\n{s.tmux.screen().rstrip()}")
        finally:
            lab.close()
            shutil.rmtree(home, ignore_errors=True)
        print(f"   ({name}: {time.monotonic() - t:.1f} s)")
    print(f"{'FAILED: ' + ', '.join(failures) if failures else 'all checks passed'} "
          f"in {time.monotonic() - started:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
