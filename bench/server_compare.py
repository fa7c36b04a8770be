#!/usr/bin/env python3
"""Stock mosh-server against mosh2-server on the same output, side by side (issue #3).

For every workload and server, one run is:

    server new -p 0 -i 127.0.0.1 -- sh -c 'stty -echo -opost; cat FILE; <title marker>; exec sleep S'
    stock mosh-client (on a pty, 80x24 by default)  <->  counting UDP relay  <->  server

The same stock mosh-client is used for both servers, so only the server differs. The
workload's last act is to set the window title to a token that appears nowhere else; once
the client's terminal output contains it, the server has read and interpreted every byte
before it. At that moment the script reads the server daemon's CPU time (utime + stime of
/proc/PID/stat, children excluded) and peak RSS (VmHWM of /proc/PID/status), and the relay
gives the UDP payload bytes and datagrams the server sent to the client. Then everything
is torn down: this process is a child subreaper (prctl), so the detached servers and
their programs are re-parented to it, killed by pid and reaped.

The second table, bytes per screen change, takes typical discrete changes from
screen_changes.py (a typed character, a command's output, a vim page, a top refresh, ...).
For each server, one session runs them all in turn:

    server new -p 0 -i 127.0.0.1 -- sh -c 'stty -echo -opost; exec python3 DRIVER ...'
    stock mosh-client (80x24)  <->  recording UDP relay  <->  server

DRIVER writes a blob to the pty, in one write, whenever the script names it over a Unix
datagram socket. Per change: the setup blob, wait until no server datagram came for
--quiet-ms (300 ms), then the change blob; the change's cost is every server->client
datagram from that write until the next such quiet gap. The server's heartbeat comes 3 s
after its last datagram, so it never falls in a window; nothing is typed, so the client
sends only acks and heartbeats, which the server does not answer.

Each measurement is repeated (--repeats, stock and mosh2 interleaved) and the median is
printed. Ratios are mosh2 / stock; the issue's goal is CPU <= 1/3 and wire bytes <= 1.

With --history-cost the servers are instead mosh2-server with its history at the
default (or --history N) and the same with --history 0 (and --baseline SERVER, say a
build of main), on the stream workloads only (plain and coloured unless --workloads):
the history's cost side by side in one run, as issue #18 asks. With --idle S each
session then sits idle S seconds and its resident set (VmRSS) is read at both ends.

Python 3 standard library only. Loopback only; every wait is bounded.
"""

import argparse
import ctypes
import errno
import fcntl
import hashlib
import os
import pty
import re
import secrets
import selectors
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import screen_changes  # noqa: E402  (bench/screen_changes.py)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")
CPU_GOAL = 1 / 3
WIRE_GOAL = 1.0
COLS_ROWS = (screen_changes.COLS, screen_changes.ROWS)  # the per-change table's window
# The server's heartbeat comes 3 s after its previous datagram: a change window that
# starts later than this after the last datagram could contain one.
HEARTBEAT_MARGIN = 2.5
FRAME_SPREAD = 0.010  # datagrams this close to a change's first one belong to its first frame


# ---------------------------------------------------------------------------------------
# Workloads: files generated once per run of this script, replayed by `cat` in the
# server's pty with output post-processing off, so the server reads exactly these bytes.

def gen_plain(scale):
    n = int(400000 * scale)
    return "".join(f"{i}\r\n" for i in range(1, n + 1)).encode()


def gen_coloured(scale):
    """`ls --color=always -lR /usr/share`, cut at a line end near the target size."""
    limit = int(3_000_000 * scale)
    env = dict(os.environ, LC_ALL="C.UTF-8", TZ="UTC")
    env.pop("LS_COLORS", None)  # ls's built-in colours
    data = b""
    try:
        with subprocess.Popen(["ls", "--color=always", "-lR", "/usr/share"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, env=env) as p:
            chunks, size = [], 0
            deadline = time.monotonic() + 30
            while size < limit and time.monotonic() < deadline:
                b = p.stdout.read(65536)
                if not b:
                    break
                chunks.append(b)
                size += len(b)
            p.kill()
        data = b"".join(chunks)[:limit]
        data = data[: data.rfind(b"\n") + 1]
    except OSError:
        pass
    if len(data) < limit // 2 or b"\x1b[" not in data:
        # No ls or no /usr/share: ls-like names with SGR on every entry instead.
        kinds = [b"\x1b[01;34m", b"\x1b[01;32m", b"\x1b[01;36m", b"\x1b[00m", b"\x1b[40;33;01m"]
        out, i, size = [], 0, 0
        while size < limit and i < 10_000_000:  # a running size: summing each turn was quadratic
            out.append(b"-rw-r--r-- 1 root root %6d Jan  1  2024 %sfile_%d.txt\x1b[0m\n"
                       % (i * 37 % 99991, kinds[i % 5], i))
            size += len(out[-1])
            i += 1
        data = b"".join(out)
    return data.replace(b"\n", b"\r\n")


def gen_programs(scale):
    """test/terminal/programs/*.bytes (vim and less captures), repeated."""
    d = os.path.join(ROOT, "test", "terminal", "programs")
    one = b""
    for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        if name.endswith(".bytes"):
            with open(os.path.join(d, name), "rb") as f:
                one += f.read()
    if not one:
        return b""
    target = int(4_000_000 * scale)
    return one * max(1, -(-target // len(one)))


def gen_utf8(scale):
    n = int(30000 * scale)
    line = "中文字符测试 Ünïcödé e\u0301 a\u0300\u0323 {} 😀 ελληνικά кириллица\r\n"
    return "".join(line.format(i) for i in range(n)).encode()


WORKLOADS = [
    # name, label, generator
    ("plain", "plain (seq 1 N)", gen_plain),
    ("coloured", "coloured (ls -lR --color)", gen_coloured),
    ("programs", "programs (vim/less replay)", gen_programs),
    ("utf8", "utf8 (CJK, combining)", gen_utf8),
]

# After the program captures the terminal may be left in the alternate screen, with a
# scrolling region or with DEC graphics: put it back before the marker (harmless elsewhere).
RESET_TAIL = b"\x1b[?1049l\x1b[r\x1b(B\x0f\x1b[0m\r\n"


# ---------------------------------------------------------------------------------------
# Processes

def set_child_subreaper():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def proc_cpu_seconds(pid):
    """CPU time of the process (all threads, not its children), in seconds.

    /proc/PID/stat's utime + stime come in clock ticks (10 ms), too coarse for runs that
    take a tenth of a second; the scheduler's sum_exec_runtime (/proc/PID/task/*/sched,
    in ms with ns digits) is the same quantity, exact. It is used when the kernel has it.
    """
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
        s = f.read()
    fields = s[s.rfind(")") + 2:].split()
    ticks = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
    total = 0.0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/sched", encoding="ascii", errors="replace") as f:
                for line in f:
                    if line.startswith("se.sum_exec_runtime"):
                        total += float(line.split(":")[1]) / 1e3
                        break
                else:
                    return ticks
    except (OSError, ValueError):
        return ticks
    # Ticks lag by less than one tick; anything else means the two disagree (a thread
    # that ended, say), and the coarse value is the safe one.
    return total if abs(total - ticks) < 2 / CLK_TCK + 0.01 * ticks else ticks


def proc_minflt(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
        s = f.read()
    return int(s[s.rfind(")") + 2:].split()[7])


def proc_hwm_kb(pid, field="VmHWM:"):
    """Peak resident set of `pid` in kB (VmHWM), or with field="VmRSS:" the current one."""
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def descendants(pid):
    """Pids whose parent chain reaches `pid` (one /proc scan)."""
    parent = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as f:
                s = f.read()
            parent[int(name)] = int(s[s.rfind(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            pass
    out, frontier = [], {pid}
    for _ in range(16):
        nxt = {p for p, pp in parent.items() if pp in frontier}
        if not nxt:
            break
        out.extend(nxt)
        frontier = nxt
    return out


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            s = f.read()
        return s[s.rfind(")") + 2] != "Z"
    except OSError:
        return False


def kill(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def reap(seconds):
    """Reaps every child of ours (we are a subreaper) for up to `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return True
        if pid == 0:
            time.sleep(0.02)
    return False


def start_server(server, script, env, timeout, wrapper=()):
    """`server` is a path, or a list: the path and options of `new` (--history 0).
    `wrapper` goes before it (history_cost.py --server: valgrind and its options)."""
    argv = [server] if isinstance(server, str) else list(server)
    p = subprocess.run(list(wrapper) + argv[:1] + ["new"] + argv[1:] +
                       ["-p", "0", "-i", "127.0.0.1", "--", "sh", "-c", script],
                       env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout)
    m = re.search(r"MOSH CONNECT (\d+) ([A-Za-z0-9+/]{22})", p.stdout)
    pid = re.search(r"detached, pid = (\d+)", p.stderr)
    if p.returncode != 0 or not m or not pid:
        raise RuntimeError(f"{server} did not start: {p.stdout.strip()} {p.stderr.strip()}"[:400])
    return int(m.group(1)), m.group(2), int(pid.group(1))


def read_client_output(fd):
    """What mosh-client wrote to its pty; raises once it has exited (EIO or EOF)."""
    try:
        chunk = os.read(fd, 65536)
    except OSError as e:
        if e.errno != errno.EIO:
            raise
        chunk = b""
    if not chunk:
        raise RuntimeError("mosh-client exited early")
    return chunk


def start_client(client, port, key, cols, rows):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/"),
           "TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "MOSH_KEY": key}
    winsize = struct.pack("HHHH", rows, cols, 0, 0)
    pid, fd = pty.fork()
    if pid == 0:  # child: the pty's slave is stdin/stdout/stderr
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, winsize)
            os.execve(client, [client, "127.0.0.1", str(port)], env)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, winsize)
    return pid, fd


# ---------------------------------------------------------------------------------------
# One measurement

class Relay:
    """Forwards datagrams between one client and the server, counting server->client."""

    def __init__(self, server_port, record=False):
        self.down = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # client side
        self.down.bind(("127.0.0.1", 0))
        self.up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)    # server side
        self.up.connect(("127.0.0.1", server_port))
        for s in (self.down, self.up):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.setblocking(False)
        self.port = self.down.getsockname()[1]
        self.client = None
        self.s2c_bytes = self.s2c_datagrams = self.c2s_bytes = 0
        # With `record`: (arrival time, size, payload) of every server->client datagram.
        self.log = [] if record else None

    def on_down(self):
        for _ in range(64):
            try:
                data, addr = self.down.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            self.client = addr
            self.c2s_bytes += len(data)
            try:
                self.up.send(data)
            except OSError:
                pass

    def on_up(self):
        for _ in range(64):
            try:
                data = self.up.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # ICMP port unreachable: the server is gone
                return
            self.s2c_bytes += len(data)
            self.s2c_datagrams += 1
            if self.log is not None:
                self.log.append((time.monotonic(), len(data), data))
            if self.client:
                try:
                    self.down.sendto(data, self.client)
                except OSError:
                    pass

    def close(self):
        self.down.close()
        self.up.close()


def pump(sel, relay, fd):
    """One wait of at most 0.2 s: relays what the relay's sockets have and yields what the
    client wrote to its pty."""
    for key_, _ in sel.select(timeout=0.2):
        if key_.data == "down":
            relay.on_down()
        elif key_.data == "up":
            relay.on_up()
        else:
            yield read_client_output(fd)


def measure(server, client, path, cols, rows, tmp, timeout, idle=0.0, wrapper=(), grace=2.0):
    """One run. With `idle` seconds, the session then sits idle that long (client still
    connected) and "rss_idle_kb" is the server's resident set at its end, next to
    "rss_end_kb", the one when the output was done. "pid" is the server daemon's pid.
    `wrapper` runs the server under another program (valgrind); `grace` is how long the
    server gets to exit after SIGTERM before SIGKILL."""
    ready = "m2ready-" + secrets.token_hex(8)
    done = "m2done-" + secrets.token_hex(8)
    # Both markers are window titles: the client prints a changed title whole, so a token
    # cannot be split the way a diff may split visible text. The output only starts once
    # the client is connected and has shown the first marker, and a keystroke (typed into
    # the client's pty, so it takes the real path) says go: the server then has to keep a
    # watching client up to date while the output streams, as in real use.
    script = (f"stty -echo -opost 2>/dev/null; printf '\\033]0;%s\\007' {ready}; read go; "
              f"cat '{path}'; printf '\\033]0;%s\\007' {done}; exec sleep {int(timeout) + 30}")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/"),
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "xterm-256color",
           "MOSH2_STATUS_DIR": os.path.join(tmp, "status"),
           "MOSH_SERVER_NETWORK_TMOUT": str(int(timeout) + 30)}  # a lost server still ends
    port, key, spid = start_server(server, script, env, 10 + 20 * bool(wrapper), wrapper)
    relay = Relay(port)
    cpid, fd = start_client(client, relay.port, key, cols, rows)
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ, "pty")
    sel.register(relay.down, selectors.EVENT_READ, "down")
    sel.register(relay.up, selectors.EVENT_READ, "up")
    needle = ready.encode()
    tail = b""
    deadline = time.monotonic() + timeout
    base = result = None
    try:
        while time.monotonic() < deadline and result is None:
            for chunk in pump(sel, relay, fd):
                buf = tail + chunk
                if needle in buf and base is None:
                    base = {"t": time.monotonic(), "cpu": proc_cpu_seconds(spid),
                            "minflt": proc_minflt(spid),
                            "s2c_bytes": relay.s2c_bytes, "s2c_datagrams": relay.s2c_datagrams}
                    needle = done.encode()
                    buf = buf[buf.index(ready.encode()) + len(ready):]
                    os.write(fd, b"\r")  # go
                if base is not None and needle in buf:
                    result = {"wall": time.monotonic() - base["t"],
                              "cpu": proc_cpu_seconds(spid) - base["cpu"],
                              "cpu_total": proc_cpu_seconds(spid), "rss_kb": proc_hwm_kb(spid),
                              "minflt": proc_minflt(spid) - base["minflt"]}
                    break
                tail = buf[-len(needle):]
        if result is None:
            name = server if isinstance(server, str) else server[0]
            raise RuntimeError(f"{os.path.basename(name)}: no "
                               f"{'end' if base else 'ready'} marker within {timeout:.0f} s")
        result["s2c_bytes"] = relay.s2c_bytes - base["s2c_bytes"]
        result["s2c_datagrams"] = relay.s2c_datagrams - base["s2c_datagrams"]
        if idle > 0:
            result["rss_end_kb"] = proc_hwm_kb(spid, "VmRSS:")
            quiet_until = time.monotonic() + idle
            while time.monotonic() < quiet_until:
                for _ in pump(sel, relay, fd):
                    pass
            result["rss_idle_kb"] = proc_hwm_kb(spid, "VmRSS:")
        result["pid"] = spid
        return result
    finally:
        teardown(spid, cpid, fd, relay, sel, grace)


def teardown(spid, cpid, fd, relay, sel, grace=2.0):
    """Kills the client, then the server (SIGTERM, SIGKILL after `grace` s) and everything
    under it, by pid; closes our ends and reaps (we are the subreaper of the detached server)."""
    sel.close()
    victims = [spid] + descendants(spid)
    kill(cpid, signal.SIGKILL)
    kill(spid, signal.SIGTERM)
    stop = time.monotonic() + grace
    while alive(spid) and time.monotonic() < stop:
        time.sleep(0.02)
    for pid in victims:
        kill(pid, signal.SIGKILL)
    os.close(fd)
    relay.close()
    reap(3)


# ---------------------------------------------------------------------------------------
# Bytes per screen change
#
# The program in the server's pty is DRIVER below: it loads the blobs that
# screen_changes.py wrote, then writes the one it is named (over a Unix datagram socket)
# to the pty in a single write. Nothing is typed into the client, so the only traffic is
# the server's frames, the client's acks and the 3-s heartbeats of both sides.

DRIVER = r"""
import os, socket, sys
d, sock_path, ready, lifetime = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
blobs = {}
with open(os.path.join(d, "changes.tsv"), encoding="utf-8") as index:
    for line in index:
        for name in line.rstrip("\n").split("\t")[2:4]:
            with open(os.path.join(d, name), "rb") as f:
                blobs[name] = f.read()
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock_path)
s.settimeout(lifetime)
os.write(1, b"\x1b]0;" + ready.encode() + b"\x07")
while True:
    try:
        msg = s.recv(4096).decode()
    except socket.timeout:
        break
    if msg not in blobs:
        break
    data = blobs[msg]
    n = os.write(1, data)  # one write; a blocking tty takes it whole
    while n < len(data):
        n += os.write(1, data[n:])
"""


class Link:
    """One server with the stock client attached through a recording relay."""

    def __init__(self, server, client, script, env, cols, rows):
        self.spid = self.cpid = self.fd = self.relay = None
        self.sel = selectors.DefaultSelector()
        port, self.key, self.spid = start_server(server, script, env, 10)
        self.relay = Relay(port, record=True)
        self.cpid, self.fd = start_client(client, self.relay.port, self.key, cols, rows)
        self.sel.register(self.fd, selectors.EVENT_READ, "pty")
        self.sel.register(self.relay.down, selectors.EVENT_READ, "down")
        self.sel.register(self.relay.up, selectors.EVENT_READ, "up")
        self.out = b""  # the client's recent terminal output
        self.capture = None  # a bytearray: everything the client prints goes there too

    def pump(self, timeout):
        """Forwards datagrams and drains the client's output for at most `timeout` s."""
        for key_, _ in self.sel.select(timeout=max(0.0, timeout)):
            if key_.data == "down":
                self.relay.on_down()
            elif key_.data == "up":
                self.relay.on_up()
            else:
                chunk = read_client_output(self.fd)
                self.out = (self.out + chunk)[-65536:]
                if self.capture is not None:
                    self.capture += chunk

    def wait_for_output(self, needle, timeout):
        deadline = time.monotonic() + timeout
        while needle not in self.out:
            if time.monotonic() >= deadline:
                raise RuntimeError("the client never showed the ready marker")
            self.pump(min(0.2, deadline - time.monotonic()))

    def wait_quiet(self, start, quiet, timeout, need_first=True):
        """Pumps until `quiet` s passed without a server datagram, counting from the last
        one at index >= `start` of the relay's log (from now if there is none yet and
        `need_first` is false). With `need_first`, at least one datagram must come.
        Returns the log entries from `start` on."""
        log = self.relay.log
        t_start = time.monotonic()
        deadline = t_start + timeout
        while True:
            now = time.monotonic()
            if len(log) > start:
                left = log[-1][0] + quiet - now
            elif need_first:
                left = deadline - now
            else:
                left = t_start + quiet - now
            if left <= 0 and (len(log) > start or not need_first):
                return log[start:]
            if now >= deadline:
                raise RuntimeError("no frame from the server" if len(log) == start
                                   else f"the link did not go quiet within {timeout:.0f} s")
            self.pump(min(left, deadline - now, 0.25))

    def close(self):
        if self.fd is not None:
            teardown(self.spid, self.cpid, self.fd, self.relay, self.sel)
        else:
            self.sel.close()
            if self.relay:
                self.relay.close()
            if self.spid:
                for pid in [self.spid] + descendants(self.spid):
                    kill(pid, signal.SIGKILL)
            reap(3)


def measure_changes(server, client, changes_dir, entries, tmp, quiet, timeout):
    """One session: for each (name, setup file, change file), the setup, a quiet link,
    the change, and the server->client datagrams from the change's write until the first
    quiet gap. Returns the session key and {name: {"bytes", "datagrams", "frame", ...,
    "wire": [the datagrams]}}."""
    token = secrets.token_hex(8)
    ready = "m2ready-" + token
    driver = os.path.join(tmp, "driver.py")
    if not os.path.exists(driver):
        with open(driver, "w", encoding="utf-8") as f:
            f.write(DRIVER)
    sock_path = os.path.join(tmp, f"drv-{token}.sock")
    if len(sock_path.encode()) > 100:
        raise RuntimeError(f"{sock_path}: too long for a Unix socket; set TMPDIR to a shorter path")
    lifetime = int(timeout) * (2 * len(entries) + 2) + 30
    script = (f"stty -echo -opost 2>/dev/null; exec '{sys.executable}' '{driver}' '{changes_dir}' "
              f"'{sock_path}' {ready} {lifetime}")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/"),
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "xterm-256color",
           "MOSH2_STATUS_DIR": os.path.join(tmp, "status"),
           "MOSH_SERVER_NETWORK_TMOUT": str(lifetime)}
    ctl = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    link = None
    try:
        link = Link(server, client, script, env, COLS_ROWS[0], COLS_ROWS[1])
        link.wait_for_output(ready.encode(), timeout)
        link.wait_quiet(len(link.relay.log), quiet, timeout, need_first=False)
        log = link.relay.log
        results = {}
        for name, setup, change in entries:
            start = len(log)
            ctl.sendto(setup.encode(), sock_path)
            link.wait_quiet(start, quiet, timeout)
            start = len(log)
            t0 = time.monotonic()
            gap_before = t0 - log[-1][0]
            link.capture = bytearray()
            ctl.sendto(change.encode(), sock_path)
            window = link.wait_quiet(start, quiet, timeout)
            # What the client drew for the change: equal for both servers when both
            # screens are equal (same client, same screen before).
            drawn = hashlib.sha1(link.capture).hexdigest()
            link.capture = None
            # The first frame: its fragments go out back to back, and no second
            # instruction can follow within SEND_INTERVAL_MIN (20 ms).
            frame = [n for t, n, _ in window if t - window[0][0] < FRAME_SPREAD]
            results[name] = {"bytes": sum(n for _, n, _ in window), "datagrams": len(window),
                             "frame": sum(frame), "first": window[0][0] - t0,
                             "span": window[-1][0] - t0, "gap_before": gap_before, "drawn": drawn,
                             "sizes": [n for _, n, _ in window], "wire": [d for _, _, d in window]}
        return link.key, results
    finally:
        ctl.close()
        if link:
            link.close()
        try:
            os.unlink(sock_path)
        except OSError:
            pass


def decode_windows(decoder, key, results, dump=None):
    """Opens each change's datagrams with bench-decode (frame_decode.cpp) and adds, per
    change: "hoststring" (the first instruction's frame diff, uncompressed), "chaff" (the
    random padding of every instruction in the window) and "frame_plain" (the first
    frame's datagram bytes without its chaff). With `dump` (a path prefix), each change's
    first hoststring is also written to DUMP-CHANGE.hoststring."""
    lines = [key]
    for name, r in results.items():
        lines += [f"{name} {d.hex()}" for d in r["wire"]]
    p = subprocess.run([decoder] + (["--hoststrings"] if dump else []),
                       input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"{decoder} failed: {p.stderr.strip()[:200]}")
    seen = {name: [] for name in results}
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) >= 2 and f[1] == "error":
            raise RuntimeError(f"{decoder}: {line}")
        if len(f) >= 9 and f[0] in seen:
            seen[f[0]].append([int(x) for x in f[1:9]] + f[9:])
    for name, r in results.items():
        insts = seen[name]  # old, new, datagrams, wire, compressed, diff, chaff, hoststring
        if not insts or sum(i[2] for i in insts) != len(r["wire"]):
            raise RuntimeError(f"{decoder}: {name}: {len(insts)} instruction(s) do not cover "
                               f"{len(r['wire'])} datagram(s)")
        r["hoststring"] = insts[0][7]
        r["chaff"] = sum(i[6] for i in insts)
        r["frame_plain"] = insts[0][3] - insts[0][6]
        if dump and len(insts[0]) > 8:
            with open(f"{dump}-{name}.hoststring", "wb") as f:
                f.write(bytes.fromhex(insts[0][8]) if insts[0][8] != "-" else b"")


# ---------------------------------------------------------------------------------------
# Report

def fmt_ratio(a, b):
    return f"{a / b:.2f}" if b else "-"


def run_streams(args, servers, wanted, cols, rows, repeats, tmp):
    """The stream workloads: {label: (size, {server: median of each quantity})}."""
    rows_out = []
    for name, label, gen in WORKLOADS:
        if name not in wanted:
            continue
        data = gen(args.scale)
        if not data:
            rows_out.append((label, None, None))
            continue
        path = os.path.join(tmp, name + ".bytes")
        with open(path, "wb") as f:
            f.write(data + RESET_TAIL)
        runs = {s: [] for s, _ in servers}
        for rep in range(repeats):
            for sname, sbin in servers:
                try:
                    r = measure(sbin, args.client, path, cols, rows, tmp, args.timeout,
                                getattr(args, "idle", 0.0))
                except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                    raise RuntimeError(f"{name}, {sname} run {rep + 1}: {e}") from e
                runs[sname].append(r)
                if args.verbose:
                    print(f"  {name:9} {sname:5} #{rep + 1}: cpu {r['cpu']:.3f} s, wall {r['wall']:.2f} s, "
                          f"{r['s2c_bytes']} B in {r['s2c_datagrams']} datagrams, "
                          f"HWM {r['rss_kb']} kB, {r['minflt']} minor faults", file=sys.stderr, flush=True)
        med = {s: {k: statistics.median(r[k] for r in runs[s]) for k in runs[s][0]} for s in runs}
        rows_out.append((label, len(data), med))
    return rows_out


def print_streams(rows_out):
    print(f"{'workload':28} {'output':>7} | {'CPU s':>6} {'mosh2':>6} {'ratio':>5} | "
          f"{'wire kB':>8} {'mosh2':>8} {'ratio':>5} | {'RSS MiB':>7} {'mosh2':>6} {'ratio':>5} | goal")
    print(f"{'':28} {'':>7} | {'stock':>6} {'':>6} {'':>5} | {'stock':>8} {'':>8} {'':>5} | "
          f"{'stock':>7} {'':>6} {'':>5} |")
    for label, size, med in rows_out:
        if med is None:
            print(f"{label:28} {'-':>7} | no input")
            continue
        st, m2 = med["stock"], med["mosh2"]
        cpu_ok = st["cpu"] > 0 and m2["cpu"] / st["cpu"] <= CPU_GOAL
        wire_ok = st["s2c_bytes"] > 0 and m2["s2c_bytes"] / st["s2c_bytes"] <= WIRE_GOAL
        goal = "ok" if cpu_ok and wire_ok else ",".join(
            x for x, ok in (("cpu", cpu_ok), ("wire", wire_ok)) if not ok) + " over"
        print(f"{label:28} {size / 1e6:5.1f}MB | {st['cpu']:6.3f} {m2['cpu']:6.3f} "
              f"{fmt_ratio(m2['cpu'], st['cpu']):>5} | {st['s2c_bytes'] / 1e3:8.1f} "
              f"{m2['s2c_bytes'] / 1e3:8.1f} {fmt_ratio(m2['s2c_bytes'], st['s2c_bytes']):>5} | "
              f"{st['rss_kb'] / 1024:7.1f} {m2['rss_kb'] / 1024:6.1f} "
              f"{fmt_ratio(m2['rss_kb'], st['rss_kb']):>5} | {goal}")
    print()
    print(f"{'workload':28} | {'datagrams':>9} {'mosh2':>7} | {'wall s':>6} {'mosh2':>6}")
    print(f"{'':28} | {'stock':>9} {'':>7} | {'stock':>6} {'':>6}")
    for label, size, med in rows_out:
        if med is None:
            continue
        st, m2 = med["stock"], med["mosh2"]
        print(f"{label:28} | {st['s2c_datagrams']:9.0f} {m2['s2c_datagrams']:7.0f} | "
              f"{st['wall']:6.2f} {m2['wall']:6.2f}")


def print_history_cost(rows_out, servers, repeats, history):
    """The history's cost (--history-cost): mosh2-server with its history at the default
    against the same server with --history 0, in the same run, runs interleaved."""
    names = [s for s, _ in servers]
    print(f"{'workload':28} {'output':>7} | " + " ".join(f"{n + ' s':>8}" for n in names) +
          f" | {'on/off':>6}" + (f" {'on/base':>7}" if "base" in names else "") +
          " | " + " ".join(f"{n + ' MiB':>8}" for n in names))
    worst = 0.0
    for label, size, med in rows_out:
        if med is None:
            print(f"{label:28} {'-':>7} | no input")
            continue
        ratio = med["on"]["cpu"] / med["off"]["cpu"] if med["off"]["cpu"] else float("inf")
        worst = max(worst, ratio)
        base = ""
        if "base" in med:
            base = f" {fmt_ratio(med['on']['cpu'], med['base']['cpu']):>7}"
        print(f"{label:28} {size / 1e6:5.1f}MB | " + " ".join(f"{med[n]['cpu']:8.3f}" for n in names) +
              f" | {ratio:6.3f}{base} | " + " ".join(f"{med[n]['rss_kb'] / 1024:8.1f}" for n in names))
    if any(med and "rss_idle_kb" in med["on"] for _, _, med in rows_out):
        print(f"\n{'resident set after the output':28} {'':>7} | " +
              " ".join(f"{n + ' end':>9} {n + ' idle':>9}" for n in names) + f" | {'on - off':>8}")
        for label, size, med in rows_out:
            if med is None:
                continue
            print(f"{label:28} {'':>7} | " +
                  " ".join(f"{med[n]['rss_end_kb']:9.0f} {med[n]['rss_idle_kb']:9.0f}" for n in names) +
                  f" | {med['on']['rss_idle_kb'] - med['off']['rss_idle_kb']:8.0f}")
        print("kB (VmRSS): when the output was done, and after the session sat idle; on - off: what "
              "the history adds to an idle session")
    print(f"\nmosh2-server CPU seconds (utime + stime, children excluded), median of {repeats}, runs "
          f"interleaved; on: --history {history}, off: --history 0"
          + (", base: --baseline" if "base" in names else "") + "; MiB: peak RSS (VmHWM).")
    print(f"goal (history on within 10 % of off): {'met' if worst <= 1.10 else 'NOT met'} "
          f"(worst on/off {worst:.3f})")


def run_changes(args, servers, wanted, repeats, tmp):
    """The per-change table: [(name, label, write size, {server: {quantity: median}})]."""
    changes_dir = os.path.join(tmp, "changes")
    screen_changes.write(changes_dir)
    entries, info = [], {}
    with open(os.path.join(changes_dir, "changes.tsv"), encoding="utf-8") as f:
        for line in f:
            name, label, setup, change = line.rstrip("\n").split("\t")[:4]
            if name in wanted:
                entries.append((name, setup, change))
                info[name] = (label, os.path.getsize(os.path.join(changes_dir, change)))
    quiet = args.quiet_ms / 1000
    runs = {s: {name: [] for name, _, _ in entries} for s, _ in servers}
    for rep in range(repeats):
        for sname, sbin in servers:
            try:
                key, res = measure_changes(sbin, args.client, changes_dir, entries, tmp, quiet,
                                           min(args.timeout, 10))
                if args.decoder:
                    dump = (os.path.join(args.dump_hoststrings, f"{sname}-{rep + 1}")
                            if args.dump_hoststrings else None)
                    decode_windows(args.decoder, key, res, dump)
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                raise RuntimeError(f"changes, {sname} run {rep + 1}: {e}") from e
            for name, r in res.items():
                if args.decoder:
                    r["plain"] = r["bytes"] - r["chaff"]
                    r["frame"] = r["frame_plain"]
                runs[sname][name].append(r)
                if r["gap_before"] > HEARTBEAT_MARGIN:
                    print(f"server_compare: {name}, {sname}: the link was idle {r['gap_before']:.1f} s "
                          "before the change; a heartbeat may be counted", file=sys.stderr)
                if args.verbose:
                    extra = (f", hoststring {r['hoststring']} B, chaff {r['chaff']} B"
                             if args.decoder else "")
                    print(f"  {name:9} {sname:5} #{rep + 1}: {r['bytes']:6d} B in {r['datagrams']} "
                          f"datagram(s) {r['sizes']}, first after {r['first'] * 1e3:.0f} ms, "
                          f"last after {r['span'] * 1e3:.0f} ms{extra}", file=sys.stderr, flush=True)
    out = []
    for name, _, _ in entries:
        keys = ("bytes", "datagrams", "frame") + (("hoststring", "plain") if args.decoder else ())
        med = {s: {k: statistics.median(r[k] for r in runs[s][name]) for k in keys} for s in runs}
        # Did the client draw the same thing for this change in every run of both servers?
        med["same"] = len({r["drawn"] for s in runs for r in runs[s][name]}) == 1
        out.append((name, info[name][0], info[name][1], med))
    return out


def print_changes(rows_out, repeats, quiet_ms, decoded):
    cols, rows = COLS_ROWS
    print(f"{'change':30} {'write':>5} | {'wire B':>6} {'mosh2':>6} {'ratio':>5} | {'dgrams':>6} | "
          f"{'frame B':>7} {'mosh2':>6} {'ratio':>5} | {'diff B':>6} {'mosh2':>6} {'ratio':>5} | screen | goal")
    print(f"{'':30} {'B':>5} | {'stock':>6} {'':>6} {'':>5} | {'st':>2} {'m2':>3} | "
          f"{'stock':>7} {'':>6} {'':>5} | {'stock':>6} {'':>6} {'':>5} |        |")
    keys = ("bytes", "datagrams", "frame", "hoststring", "plain")
    tot = {s: dict.fromkeys(keys, 0) for s in ("stock", "mosh2")}
    tot["same"] = True
    tot_write, over, over_plain, differ = 0, [], [], []

    def ratio(m2, st, k):
        return fmt_ratio(m2[k], st[k]) if k in st else "-"

    def cell(d, k, width):
        return f"{d[k]:{width}.0f}" if k in d else f"{'-':>{width}}"

    for name, label, size, med in rows_out + [("total", "total", None, tot)]:
        st, m2 = med["stock"], med["mosh2"]
        wire_ok = st["bytes"] > 0 and m2["bytes"] / st["bytes"] <= WIRE_GOAL
        # Chaff is random (0-16 B per datagram, §6.1) and neither server's choice: with the
        # decoder the goal is judged on the wire bytes without it.
        ok = (m2["plain"] <= st["plain"] * WIRE_GOAL) if "plain" in st else wire_ok
        if size is not None:
            tot_write += size
            for s in ("stock", "mosh2"):
                for k in keys:
                    if k in med[s]:
                        tot[s][k] += med[s][k]
                    else:
                        tot[s].pop(k, None)
            tot["same"] = tot["same"] and med["same"]
            if not wire_ok:
                over.append(name)
            if not ok:
                over_plain.append(name)
            if not med["same"]:
                differ.append(name)
        print(f"{label:30} {size if size is not None else tot_write:5d} | {st['bytes']:6.0f} "
              f"{m2['bytes']:6.0f} {fmt_ratio(m2['bytes'], st['bytes']):>5} | {st['datagrams']:2.0f} "
              f"{m2['datagrams']:3.0f} | {st['frame']:7.0f} {m2['frame']:6.0f} "
              f"{fmt_ratio(m2['frame'], st['frame']):>5} | {cell(st, 'hoststring', 6)} "
              f"{cell(m2, 'hoststring', 6)} {ratio(m2, st, 'hoststring'):>5} | "
              f"{'same' if med['same'] else 'DIFF':6} | {'ok' if ok else 'over'}")
    frame = ("the first frame's datagram bytes without the random chaff" if decoded
             else "the first frame's datagram bytes")
    print(f"\nwire B: UDP payload bytes server->client from the change's one write until the link was quiet"
          f"\n  for {quiet_ms:.0f} ms; dgrams: datagrams (stock, mosh2);"
          f"\nframe B: {frame};"
          f"\ndiff B: the first frame's hoststring, uncompressed{'' if decoded else ' (needs bench-decode)'};"
          f"\nscreen: whether the client drew the same bytes for the change in every run with both servers;"
          f"\n{cols}x{rows}; median of {repeats}; ratios are mosh2/stock.")
    if differ:
        print(f"the client drew differently for: {', '.join(differ)} (the screens may differ)")
    if decoded:
        print("goal (mosh2 <= stock on every change, wire bytes without the random chaff): " +
              (f"NOT met on {', '.join(over_plain)}" if over_plain else "met"))
        print("wire bytes with the chaff (0-16 random bytes per datagram, so +-0.05 on a small frame is chance): "
              + (f"more on {', '.join(over)}" if over else "no more on any change"))
    else:
        print(f"goal (mosh2 <= stock on every change, wire bytes): "
              + (f"NOT met on {', '.join(over)}" if over else "met"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mosh2-server", default=os.path.join(ROOT, "build-release", "tools", "mosh2-server"))
    ap.add_argument("--stock-server", default=shutil.which("mosh-server") or "/usr/bin/mosh-server")
    ap.add_argument("--client", default=shutil.which("mosh-client") or "/usr/bin/mosh-client",
                    help="the client used for both servers (default: stock mosh-client)")
    ap.add_argument("--repeats", type=int, default=5, help="runs per server and workload (median)")
    ap.add_argument("--scale", type=float, default=1.0, help="stream workload size factor")
    ap.add_argument("--size", default="80x24", help="client window COLSxROWS for the stream workloads")
    ap.add_argument("--timeout", type=float, default=60, help="seconds per stream run")
    ap.add_argument("--workloads", default=",".join(w[0] for w in WORKLOADS),
                    help="comma-separated subset of " + ",".join(w[0] for w in WORKLOADS) +
                    " ('' for none)")
    ap.add_argument("--changes", default=",".join(c[0] for c in screen_changes.changes()),
                    help="comma-separated subset of " + ",".join(c[0] for c in screen_changes.changes()) +
                    " ('' for none)")
    ap.add_argument("--decoder", default=os.path.join(ROOT, "build-release", "bench", "bench-decode"),
                    help="bench-decode, to open the captured frames ('' to do without)")
    ap.add_argument("--dump-hoststrings", metavar="DIR",
                    help="write each server's first hoststring per change and run into DIR")
    ap.add_argument("--quiet-ms", type=float, default=300,
                    help="a change's datagrams end at the first gap this long (ms)")
    ap.add_argument("--verbose", action="store_true", help="print every run")
    ap.add_argument("--history-cost", action="store_true",
                    help="instead of stock against mosh2: mosh2-server with its default history "
                    "against --history 0 (the stream workloads only; default plain,coloured)")
    ap.add_argument("--baseline", metavar="SERVER",
                    help="with --history-cost, a third mosh2-server (say, a build of main) run alongside")
    ap.add_argument("--history", type=int, default=10000,
                    help="with --history-cost, the history of the 'on' server (default: its default, 10000)")
    ap.add_argument("--idle", type=float, default=0.0, metavar="S",
                    help="with --history-cost, let each session sit idle S seconds after the output and "
                    "report its resident set then")
    args = ap.parse_args(argv)
    if args.history_cost:
        if args.workloads == ap.get_default("workloads"):
            args.workloads = "plain,coloured"
        args.changes = ""
    elif args.baseline or args.idle:
        ap.error("--baseline and --idle need --history-cost")
    if not 0 <= args.idle <= 60:
        ap.error("--idle must be within 0..60 s")

    cols, _, rows = args.size.partition("x")
    cols, rows = int(cols), int(rows)
    repeats = max(1, min(args.repeats, 20))
    wanted = [w for w in args.workloads.split(",") if w]
    unknown = set(wanted) - {w[0] for w in WORKLOADS}
    if unknown:
        ap.error(f"unknown workload(s): {', '.join(sorted(unknown))}")
    wanted_changes = [c for c in args.changes.split(",") if c]
    unknown = set(wanted_changes) - {c[0] for c in screen_changes.changes()}
    if unknown:
        ap.error(f"unknown change(s): {', '.join(sorted(unknown))}")
    if not 50 <= args.quiet_ms <= 2500:
        ap.error("--quiet-ms must be within 50..2500 (the server's heartbeat comes after 3000)")
    needed = [("mosh-client", args.client), ("mosh2-server", args.mosh2_server)]
    if args.history_cost:
        needed += [("baseline mosh2-server", args.baseline)] if args.baseline else []
    else:
        needed.insert(0, ("stock mosh-server", args.stock_server))
    for what, path in needed:
        if not os.access(path, os.X_OK):
            print(f"server_compare: no {what} at {path} (tools/install-deps installs mosh)", file=sys.stderr)
            return 1
    if args.dump_hoststrings:
        if not args.decoder:
            ap.error("--dump-hoststrings needs --decoder")
        os.makedirs(args.dump_hoststrings, exist_ok=True)
    if wanted_changes and args.decoder and not os.access(args.decoder, os.X_OK):
        print(f"server_compare: no bench-decode at {args.decoder} (ninja -C build-release "
              "bench/bench-decode, or --decoder '' to do without)", file=sys.stderr)
        return 1
    if not set_child_subreaper():
        print("server_compare: prctl(PR_SET_CHILD_SUBREAPER) failed; detached servers are "
              "still killed but may stay as zombies", file=sys.stderr)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    servers = [("stock", args.stock_server), ("mosh2", args.mosh2_server)]
    if args.history_cost:
        servers = [("off", [args.mosh2_server, "--history", "0"]),
                   ("on", [args.mosh2_server, "--history", str(args.history)])]
        if args.baseline:
            servers.append(("base", args.baseline))
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mosh2-server-compare-") as tmp:
        try:
            streams = run_streams(args, servers, wanted, cols, rows, repeats, tmp)
            t1 = time.monotonic()
            if streams and args.history_cost:
                print("-- the history's cost")
                print_history_cost(streams, servers, repeats, args.history)
                print(f"window {cols}x{rows}; client {args.client}; {t1 - t0:.0f} s", flush=True)
            elif streams:
                print("-- continuous output streams")
                print_streams(streams)
                print(f"\n{repeats} run(s) per cell, median; window {cols}x{rows}; client {args.client}; "
                      f"ratios are mosh2/stock (goal: CPU <= 0.33, wire <= 1.00); {t1 - t0:.0f} s", flush=True)
            changes = run_changes(args, servers, wanted_changes, repeats, tmp) if wanted_changes else []
            if changes:
                print(f"\n-- bytes per screen change (one write each; {time.monotonic() - t1:.0f} s)")
                print_changes(changes, repeats, args.quiet_ms, bool(args.decoder))
        except RuntimeError as e:
            print(f"server_compare: {e}", file=sys.stderr)
            return 1
    return 0

if __name__ == "__main__":
    sys.exit(main())
