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

Each measurement is repeated (--repeats, stock and mosh2 interleaved) and the median is
printed. Ratios are mosh2 / stock; the issue's goal is CPU <= 1/3 and wire bytes <= 1.

Python 3 standard library only. Loopback only; every wait is bounded.
"""

import argparse
import ctypes
import errno
import fcntl
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")
CPU_GOAL = 1 / 3
WIRE_GOAL = 1.0


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
        out, i = [], 0
        while sum(map(len, out)) < limit and i < 10_000_000:
            out.append(b"-rw-r--r-- 1 root root %6d Jan  1  2024 %sfile_%d.txt\x1b[0m\n"
                       % (i * 37 % 99991, kinds[i % 5], i))
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


def proc_hwm_kb(pid):
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
        for line in f:
            if line.startswith("VmHWM:"):
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


def start_server(server, script, env, timeout):
    p = subprocess.run([server, "new", "-p", "0", "-i", "127.0.0.1", "--", "sh", "-c", script],
                       env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout)
    m = re.search(r"MOSH CONNECT (\d+) ([A-Za-z0-9+/]{22})", p.stdout)
    pid = re.search(r"detached, pid = (\d+)", p.stderr)
    if p.returncode != 0 or not m or not pid:
        raise RuntimeError(f"{server} did not start: {p.stdout.strip()} {p.stderr.strip()}"[:400])
    return int(m.group(1)), m.group(2), int(pid.group(1))


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

    def __init__(self, server_port):
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
            if self.client:
                try:
                    self.down.sendto(data, self.client)
                except OSError:
                    pass

    def close(self):
        self.down.close()
        self.up.close()


def measure(server, client, path, cols, rows, tmp, timeout):
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
    port, key, spid = start_server(server, script, env, 10)
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
            for key_, _ in sel.select(timeout=0.2):
                if key_.data == "down":
                    relay.on_down()
                elif key_.data == "up":
                    relay.on_up()
                else:
                    try:
                        chunk = os.read(fd, 65536)
                    except OSError as e:
                        if e.errno != errno.EIO:
                            raise
                        chunk = b""
                    if not chunk:
                        raise RuntimeError("mosh-client exited early")
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
            raise RuntimeError(f"{os.path.basename(server)}: no "
                               f"{'end' if base else 'ready'} marker within {timeout:.0f} s")
        result["s2c_bytes"] = relay.s2c_bytes - base["s2c_bytes"]
        result["s2c_datagrams"] = relay.s2c_datagrams - base["s2c_datagrams"]
        return result
    finally:
        sel.close()
        victims = [spid] + descendants(spid)
        kill(cpid, signal.SIGKILL)
        kill(spid, signal.SIGTERM)
        stop = time.monotonic() + 2
        while alive(spid) and time.monotonic() < stop:
            time.sleep(0.02)
        for pid in victims:
            kill(pid, signal.SIGKILL)
        os.close(fd)
        relay.close()
        reap(3)


# ---------------------------------------------------------------------------------------
# Report

def fmt_ratio(a, b):
    return f"{a / b:.2f}" if b else "-"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mosh2-server", default=os.path.join(ROOT, "build-release", "tools", "mosh2-server"))
    ap.add_argument("--stock-server", default=shutil.which("mosh-server") or "/usr/bin/mosh-server")
    ap.add_argument("--client", default=shutil.which("mosh-client") or "/usr/bin/mosh-client",
                    help="the client used for both servers (default: stock mosh-client)")
    ap.add_argument("--repeats", type=int, default=5, help="runs per server and workload (median)")
    ap.add_argument("--scale", type=float, default=1.0, help="workload size factor")
    ap.add_argument("--size", default="80x24", help="client window COLSxROWS")
    ap.add_argument("--timeout", type=float, default=60, help="seconds per run")
    ap.add_argument("--workloads", default=",".join(w[0] for w in WORKLOADS),
                    help="comma-separated subset of " + ",".join(w[0] for w in WORKLOADS))
    ap.add_argument("--verbose", action="store_true", help="print every run")
    args = ap.parse_args(argv)

    cols, _, rows = args.size.partition("x")
    cols, rows = int(cols), int(rows)
    repeats = max(1, min(args.repeats, 20))
    wanted = [w for w in args.workloads.split(",") if w]
    unknown = set(wanted) - {w[0] for w in WORKLOADS}
    if unknown:
        ap.error(f"unknown workload(s): {', '.join(sorted(unknown))}")
    for what, path in (("stock mosh-server", args.stock_server), ("mosh-client", args.client),
                       ("mosh2-server", args.mosh2_server)):
        if not os.access(path, os.X_OK):
            print(f"server_compare: no {what} at {path} (tools/install-deps installs mosh)", file=sys.stderr)
            return 1
    if not set_child_subreaper():
        print("server_compare: prctl(PR_SET_CHILD_SUBREAPER) failed; detached servers are "
              "still killed but may stay as zombies", file=sys.stderr)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    servers = [("stock", args.stock_server), ("mosh2", args.mosh2_server)]
    t0 = time.monotonic()
    rows_out = []
    with tempfile.TemporaryDirectory(prefix="mosh2-server-compare-") as tmp:
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
                        r = measure(sbin, args.client, path, cols, rows, tmp, args.timeout)
                    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                        print(f"server_compare: {name}, {sname} run {rep + 1}: {e}", file=sys.stderr)
                        return 1
                    runs[sname].append(r)
                    if args.verbose:
                        print(f"  {name:9} {sname:5} #{rep + 1}: cpu {r['cpu']:.3f} s, wall {r['wall']:.2f} s, "
                              f"{r['s2c_bytes']} B in {r['s2c_datagrams']} datagrams, "
                              f"HWM {r['rss_kb']} kB, {r['minflt']} minor faults", file=sys.stderr, flush=True)
            med = {s: {k: statistics.median(r[k] for r in runs[s]) for k in runs[s][0]} for s in runs}
            rows_out.append((label, len(data), med))

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
    print(f"\n{repeats} run(s) per cell, median; window {cols}x{rows}; client {args.client}; "
          f"ratios are mosh2/stock (goal: CPU <= 0.33, wire <= 1.00); {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
