#!/usr/bin/env python3
"""One cell of the interop matrix: a server (stock mosh-server or mosh2-server) and a
client (stock mosh-client or mosh2-client) on loopback (127.0.0.1 by default, or ::1),
the client in a tmux pane, optionally through the test relay (loss, delay, roaming,
blackout). Finds the server's process by its UDP port (/proc/net/udp*, /proc/*/fd) and
checks that it is the pid the server reported and that the socket is bound to the
expected address, not the wildcard. Types commands, checks the output, resizes the pane
and checks `stty size`, quits (escape key or `exit`) and checks that both ends exit, the
client with status 0.

Optional extras, each after the typing checks:
* --bulk: `cat`s a screenful of random text (about 2.6 kB, too much for one datagram at
  either family's MTU, so the frame travels in fragments) and checks every line of it.
  A packet socket on lo watches the server's UDP port meanwhile: the server must have
  sent a datagram of more than 1000 bytes (fragments filled to the family's MTU, not
  the 500-byte fallback). Needs root (CAP_NET_RAW), as the cells run.
* --flood S: runs `yes` for S seconds, sends Ctrl-C, and checks that the prompt and the
  next command's output come back (prints the times), and that the server's VmRSS,
  sampled before, during and after the flood, neither grows by more than
  --rss-growth-mb nor keeps growing sample after sample (prints the samples).
* --suspend: Ctrl-^ Ctrl-Z; the client must give the terminal back (main screen, the
  "[mosh is suspended.]" line) and stop; after SIGCONT it must redraw and work again.
  The client then runs as a job of its own (test/support/foreground_job.py).
* --outage S: the relay drops everything for S seconds (started by SIGUSR1 once the
  session is up) while the test types a key every 0.5 s; every key must arrive once
  the link is back, and the relay's stats must show that its one blackout window
  dropped datagrams both ways while the test was typing, and that the client rode it
  out on the source port it had (it hops only after 10 s without a round trip).
* --hop-blackout S: the same, and the client must hop to a new source port (it does
  after 10 s without a round trip): the relay must see at least two distinct client
  source ports, none of them new before the blackout.
* --roam N: N times, the relay moves to a new source port towards the server (SIGUSR2)
  and stops forwarding what the server sends to the old one; after each roam the test
  types a command, waits for its output, and waits for the server's status file to show
  the new port as the client's address. The ports the server followed must be exactly
  the relay's upstream ports, in order. Needs --server mosh2 (the status file).

Whenever the relay impairs the link (--loss, --dup, --reorder, --blackout), its stats
must show that it did: datagrams dropped, duplicated, delivered out of order, in each
direction the option applies to. With --loss, --dup or --reorder the test types one key
at a time until the relay's live stats show every one of them each way, then checks
that every key arrived. The resize waits until the session's pty has the new
size (the server's status file for mosh2-server; the pty itself for the stock server),
then types `stty size` once.

Usage: interop.py --server stock|mosh2 --client stock|mosh2 --build DIR
                  [--quit escape|exit] [--relay-args "..."] [--bind ADDR|IFACE]
                  [--connect ADDR] [--expect-bound ADDR] [--bulk] [--flood S] [--outage S]
                  [--hop-blackout S] [--roam N] [--suspend]
Exits 0 on success, 1 with a reason on failure. Every wait is bounded."""

import argparse
import fcntl
import ipaddress
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import string
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RELAY = os.path.join(HERE, "..", "support", "udp_relay.py")
FOREGROUND_JOB = os.path.join(HERE, "..", "support", "foreground_job.py")
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import udp_relay  # noqa: E402  (its argument parser tells which impairments a cell asked for)


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


def start_server(kind, build, env, bind="127.0.0.1", command=("/bin/sh",)):
    exe = need("mosh-server") if kind == "stock" else os.path.join(build, "tools", "mosh2-server")
    proc = subprocess.run([exe, "new", "-p", "0", "-i", bind, "-l", "LANG=C.UTF-8", "--", *command],
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


def require_ipv6_loopback():
    out = subprocess.run([need("ip"), "-6", "addr", "show", "dev", "lo"], capture_output=True, text=True,
                         timeout=10).stdout
    if not re.search(r"inet6 ::1/128", out):
        raise Failure("IPv6 is not available on this machine: `ip -6 addr show dev lo` lists no ::1 "
                      f"({out.strip() or 'no output'}); these cells need IPv6 on loopback "
                      "(sysctl net.ipv6.conf.lo.disable_ipv6=0)")


def udp_sockets(port):
    """[(address, inode)] of every UDP socket bound to `port`, from /proc/net/udp and udp6."""
    found = []
    for path, family in (("/proc/net/udp", socket.AF_INET), ("/proc/net/udp6", socket.AF_INET6)):
        try:
            with open(path) as f:
                lines = f.read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            hexaddr, hexport = fields[1].split(":")
            if int(hexport, 16) != port:
                continue
            raw = bytes.fromhex(hexaddr)
            # The kernel prints each 32-bit word in host (little-endian) order.
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            found.append((socket.inet_ntop(family, raw), int(fields[9])))
    return found


def socket_owners(inode):
    """Pids with the socket `inode` open."""
    want = f"socket:[{inode}]"
    owners = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == want:
                    owners.append(int(pid))
                    break
            except OSError:
                continue
    return owners


def parent_pid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def descends_from(pid, ancestor):
    """True if `ancestor` is `pid` or one of its ancestors, False if not, None if `pid`
    (or a process on the way up) is gone."""
    for _ in range(64):  # bounded walk up the tree
        if pid == ancestor:
            return True
        if pid is None:
            return None
        if pid <= 1:
            return False
        pid = parent_pid(pid)
    return False


def find_server(port, reported_pid, expect_bound, exclusive=False, timeout=5.0):
    """The server's pid, found from its UDP port, checked against the pid the server
    printed: the socket must be open in that process, and elsewhere only in its
    descendants (a forked child that has not exec'd yet, say; processes that exit
    while we look are ignored). With `exclusive`, descendants must let go of it too
    within the timeout: the socket is close-on-exec, so the user's shell never holds it.
    Also checks the socket's address against `expect_bound`."""
    deadline = time.monotonic() + timeout
    while True:
        sockets = udp_sockets(port)
        if len(sockets) != 1:
            raise Failure(f"expected one UDP socket on port {port}, found {sockets}")
        address, inode = sockets[0]
        if ipaddress.ip_address(address) != ipaddress.ip_address(expect_bound):
            raise Failure(f"the server's socket is bound to {address}:{port}, expected {expect_bound}")
        owners = socket_owners(inode)
        related = {p: descends_from(p, reported_pid) for p in owners}
        strangers = [p for p, r in related.items() if r is False]
        others = sorted(p for p, r in related.items() if r and p != reported_pid)
        if reported_pid in owners and not strangers and not (exclusive and others):
            break
        if time.monotonic() >= deadline:
            raise Failure(f"UDP port {port} is held by pids {owners}; the server said pid {reported_pid} "
                          f"(holders that are not it or its descendants: {strangers}"
                          + (f"; descendants holding it: {others}" if exclusive else "") + ")")
        time.sleep(0.1)
    print(f"server pid {reported_pid} holds {address} port {port}"
          + (f"; also open in its descendants {others}" if others else ""))
    return reported_pid


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        m = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
    if not m:
        raise Failure(f"no VmRSS for pid {pid}")
    return int(m.group(1))


def last_line(screen):
    lines = [l.rstrip() for l in screen.splitlines() if l.strip()]
    return lines[-1] if lines else ""


PROMPT = re.compile(r"^[$#]$")


class DatagramSizes:
    """The largest UDP payload sent from `port` on lo, seen through a packet socket (the
    test's own loopback traffic only), in a thread until stop()."""

    def __init__(self, port):
        self.port = port
        self.largest = 0
        self.seen = 0
        try:
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0003))
        except PermissionError:
            raise Failure("watching datagram sizes needs a packet socket on lo (root or CAP_NET_RAW)")
        self.sock.bind(("lo", 0))
        self.sock.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        deadline = time.monotonic() + 300  # bounded whatever happens to stop()
        while self.running and time.monotonic() < deadline:
            try:
                packet = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            version = packet[0] >> 4 if packet else 0
            if version == 6 and len(packet) >= 48 and packet[6] == 17:
                udp = packet[40:]
            elif version == 4 and len(packet) >= 28 and packet[9] == 17:
                udp = packet[(packet[0] & 0x0F) * 4:]
            else:
                continue
            source = struct.unpack("!H", udp[0:2])[0]
            if source == self.port:
                self.seen += 1
                self.largest = max(self.largest, struct.unpack("!H", udp[4:6])[0] - 8)

    def stop(self):
        self.running = False
        self.thread.join(timeout=5)
        self.sock.close()
        return self.largest


def bulk(tmux, home, timeout, server_port):
    """A screenful of random characters: the frame needs several fragments, and the
    server sends at least one datagram of more than 1000 bytes."""
    sizes = DatagramSizes(server_port)
    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits
    lines = [f"{n:02d}" + "".join(rng.choice(alphabet) for _ in range(94)) for n in range(26)]
    path = os.path.join(home, "bulk.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    tmux.keys("clear; cat " + path, "Enter")

    def shown():
        screen = [l.rstrip() for l in tmux.screen().splitlines()]
        return all(l in screen for l in lines)
    try:
        wait_for("a screenful of random text", shown, timeout)
    finally:
        largest = sizes.stop()
    print(f"bulk: {len(lines)} lines of {len(lines[0])} random characters arrived intact; the largest of "
          f"{sizes.seen} datagrams from the server's port carried {largest} bytes")
    if largest <= 1000:
        raise Failure(f"the server's largest datagram during the bulk screen carried {largest} bytes, "
                      "not more than 1000: the frame was not sent in full-size fragments")


def flood(tmux, server_pid, seconds, growth_mb, timeout, pairing):
    """`yes` for `seconds`, Ctrl-C, prompt and next output back; the server's RSS stays flat.
    How fast the prompt comes back is printed, not asserted (bench/ measures speed)."""
    samples = [("before", rss_kb(server_pid))]
    tmux.keys("yes", "Enter")
    wait_for("the flood on screen", lambda: sum(l.rstrip() == "y" for l in tmux.screen().splitlines()) >= 10,
             timeout)
    start = time.monotonic()
    for n in range(1, int(seconds) + 1):
        time.sleep(max(0.0, start + n - time.monotonic()))
        samples.append((f"flood+{n}s", rss_kb(server_pid)))
    if PROMPT.match(last_line(tmux.screen())):
        raise Failure("the prompt is on screen before Ctrl-C: the flood stopped by itself")
    sent = time.monotonic()
    tmux.keys("C-c")
    wait_for("the prompt after Ctrl-C", lambda: PROMPT.match(last_line(tmux.screen())), timeout)
    to_prompt = time.monotonic() - sent
    tail = [l.rstrip() for l in tmux.screen().splitlines() if l.strip()][-3:]
    tmux.keys("echo after-flood-$((6*7))", "Enter")
    wait_for("output after the flood", lambda: re.search(r"^after-flood-42\s*$", tmux.screen(), re.M),
             timeout)
    to_output = time.monotonic() - sent
    samples.append(("after", rss_kb(server_pid)))
    time.sleep(2)
    samples.append(("after+2s", rss_kb(server_pid)))
    print(f"flood, {pairing}: `yes` for {seconds:g} s; Ctrl-C -> prompt {to_prompt * 1000:.0f} ms, "
          f"-> next output {to_output * 1000:.0f} ms; screen ended {tail} at the prompt")
    print(f"flood, {pairing}: server VmRSS (kB): " + ", ".join(f"{name} {kb}" for name, kb in samples))
    base = samples[0][1]
    worst = max(kb for _, kb in samples)
    if worst - base > growth_mb * 1024:
        raise Failure(f"server RSS grew by {(worst - base) / 1024:.1f} MB (> {growth_mb} MB) over the flood")
    # A leak shows as growth at every step, even after the flood stopped.
    steps = [b - a for (_, a), (_, b) in zip(samples[1:], samples[2:])]
    if steps and all(step > 256 for step in steps):
        raise Failure(f"server RSS keeps growing at every sample from the flood on: steps {steps} kB")


def outage(tmux, relay, seconds, timeout):
    """Black the relay out for `seconds` (SIGUSR1) and type one key every 0.5 s through it,
    so that the client keeps sending; then every key must arrive. Returns the times
    (time.monotonic()) at which the keys were typed, for check_outage."""
    tmux.keys("echo gap")
    start = time.monotonic()
    relay.send_signal(signal.SIGUSR1)
    typed = []
    for _ in range(int(seconds * 2) + 2):  # bounded: one key every 0.5 s until after the blackout
        if time.monotonic() - start >= seconds + 0.5:
            break
        tmux.keys("x")
        typed.append(time.monotonic())
        time.sleep(0.5)
    tmux.keys("Enter")
    wait_for(f"the {len(typed)} keys typed during the blackout",
             lambda: re.search(rf"^gap{'x' * len(typed)}\s*$", tmux.screen(), re.M), timeout)
    print(f"outage: {len(typed)} keys typed across a {seconds:g} s blackout all arrived "
          f"{time.monotonic() - start - seconds:.1f} s after it ended")
    return typed


def check_outage(stats, typed, seconds):
    """The relay's one signalled blackout dropped datagrams both ways, and keys were typed
    inside it (the test's times placed on the relay's clock, both CLOCK_MONOTONIC)."""
    windows = stats["signal_blackouts"]
    if len(windows) != 1:
        raise Failure(f"relay saw {len(windows)} signalled blackouts, expected 1")
    start, end = windows[0]
    drops = [b for b in stats["blackouts"] if b[0] == start]
    c2s, s2c = (drops[0][2], drops[0][3]) if drops else (0, 0)
    keys = [round((t - stats["t0_monotonic"]) * 1000) for t in typed]
    inside = [k for k in keys if start <= k < end]
    print(f"outage: relay blackout {start:.0f}..{end:.0f} ms dropped {c2s} c2s and {s2c} s2c datagrams; "
          f"{len(inside)} of {len(keys)} keys typed inside it")
    if abs(end - start - seconds * 1000) > 1:
        raise Failure(f"the relay's blackout lasted {end - start:.0f} ms, not {seconds:g} s")
    if c2s < 1 or s2c < 1:
        raise Failure(f"the blackout dropped {c2s} c2s and {s2c} s2c datagrams: the link was not cut both ways")
    if len(inside) < 2:
        raise Failure(f"only {len(inside)} keys were typed inside the blackout {start:.0f}..{end:.0f} ms "
                      f"(keys at {keys} ms)")


def check_kept_ports(stats):
    """A blackout shorter than the hop threshold is ridden out on the ports the client had:
    the relay saw one client source port, first seen before the blackout."""
    ports = stats.get("client_ports", [])
    start_ms = stats["signal_blackouts"][0][0]
    if len(ports) != 1 or ports[0]["first_seen_ms"] >= start_ms:
        raise Failure(f"the client did not keep its source port across the blackout: {ports} "
                      f"(blackout from {start_ms:.0f} ms)")
    print(f"outage: the client kept source port {ports[0]['port']} throughout")


def check_hop(stats, seconds):
    ports = stats.get("client_ports", [])
    start_ms = stats["signal_blackouts"][0][0]
    print("client source ports seen by the relay: "
          + ", ".join(f"{p['port']} from {p['first_seen_ms'] - start_ms:+.0f} ms" for p in ports)
          + " (relative to the blackout start)")
    if len(ports) < 2:
        raise Failure(f"the client never hopped source ports over a {seconds:g} s blackout: {ports}")
    early = [p for p in ports[1:] if p["first_seen_ms"] < start_ms]
    if early:
        raise Failure(f"the client hopped before the blackout, while round trips worked: {early}")


def status_of(status_dir, pid):
    """A process's status file (docs/status.md), parsed; None while there is none. The
    file is renamed into place, so a read never sees half of it."""
    try:
        with open(os.path.join(status_dir, f"{pid}.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def check_extensions(args, status_dir, server_pid):
    """A mosh2 server agrees on extensions with a mosh2 client and with nobody else
    (docs/protocol.md, "Extensions"); its status file says which."""
    if args.server != "mosh2":
        return
    got = (status_of(status_dir, server_pid) or {}).get("extensions", {}).get("agreed")
    ok = ("streams" in (got or []) and all(not name.isdigit() for name in got)) if args.client == "mosh2" else got == []
    if not ok:
        want = "streams and only named extensions" if args.client == "mosh2" else "none"
        raise Failure(f"the server agreed on extensions {got}, expected {want} with a {args.client} client")


def roam(tmux, relay, status_dir, server_pid, count, timeout):
    """`count` roams (SIGUSR2: the relay moves to a new upstream port and drops what the
    server sends to the old one); after each, a command's output must come back and the
    server's status file must name a port it has not named before. Returns the client
    ports the server's status file showed, in order, starting with the first one."""

    def peer_port():
        status = status_of(status_dir, server_pid)
        return status and status.get("peer") and status["peer"]["port"]

    ports = [wait_for("the server's status file to name the client's address", peer_port, timeout)]
    for k in range(count):
        relay.send_signal(signal.SIGUSR2)
        tmux.keys(f"echo roam-{k}-$((6*7))", "Enter")
        wait_for(f"output after roam {k + 1}", lambda: re.search(rf"^roam-{k}-42\s*$", tmux.screen(), re.M), timeout)
        ports.append(wait_for(f"the server's status file to show a new client port after roam {k + 1} "
                              f"(ports so far {ports})",
                              lambda: (lambda p: p if p and p not in ports else None)(peer_port()), timeout))
    print(f"roam: the server followed the client across {count} new source ports: {ports}")
    return ports


def check_roams(stats, ports, count):
    if stats["rebinds"] != count or stats["upstream_ports"] != ports:
        raise Failure(f"the relay used upstream ports {stats['upstream_ports']} ({stats['rebinds']} rebinds); "
                      f"the server's status file showed {ports}")
    print(f"roam: relay upstream ports {stats['upstream_ports']} match; it dropped "
          f"{stats['s2c']['dropped_stale_upstream']} datagrams the server sent to a port already left")


def read_deliveries(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.endswith("\n")]


def relay_options(relay_args):
    """The relay's own reading of a cell's relay arguments."""
    return udp_relay.build_parser().parse_args(relay_args + ["--server", "127.0.0.1:1"])


def impairment_problems(stats, deliveries, opts):
    """What the relay was asked to do and has not (yet) done: per direction, a loss
    option dropped datagrams, a dup option sent some twice, a reorder option held some
    back and the delivery order shows datagrams out of order; a given blackout window
    dropped some each way; a rebind period opened new upstream sockets."""
    problems = []
    for d in udp_relay.DIRS:
        st = stats[d]
        sent = [x["n"] for x in deliveries if x["dir"] == d]
        if opts.loss[d] > 0 and st["dropped_loss"] < 1:
            problems.append(f"--loss {opts.loss[d]} dropped nothing {d}")
        if opts.dup[d] > 0 and (st["duplicated"] < 1 or len(set(sent)) == len(sent)):
            problems.append(f"--dup {opts.dup[d]} duplicated nothing {d}")
        inversions = sum(1 for a, b in zip(sent, sent[1:]) if b < a)
        if opts.reorder[d] > 0 and (st["reordered"] < 1 or inversions < 1):
            problems.append(f"--reorder {opts.reorder[d]}: {st['reordered']} held back, "
                            f"{inversions} delivered out of order {d}")
    for start, end, c2s, s2c in stats["blackouts"]:
        if any(abs(b[0] * 1000 - start) < 1 for b in opts.blackout) and (c2s < 1 or s2c < 1):
            problems.append(f"the blackout {start:.0f}..{end:.0f} ms dropped {c2s} c2s, {s2c} s2c")
    if opts.rebind_every > 0 and stats["rebinds"] < 1:
        problems.append(f"--rebind-every {opts.rebind_every:g} never rebound")
    return problems


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def impaired_typing(tmux, stats_path, deliveries_path, opts, timeout):
    """Types one key every 0.1 s, for as long as it takes (at most 400 keys) the relay's
    live stats and delivery log to show every loss, duplicate and reordering the cell
    asked for; then every key must arrive. So the session is seen to survive the
    impairment however little traffic it would otherwise have made."""
    tmux.keys("echo load")
    keys = 0
    problems = ["no relay stats yet"]
    for _ in range(400):
        stats = read_json(stats_path)
        problems = impairment_problems(stats, read_deliveries(deliveries_path), opts) if stats else problems
        if not problems:
            break
        tmux.keys("x")
        keys += 1
        time.sleep(0.1)
    else:
        raise Failure(f"after {keys} keys the relay still had not impaired the link: " + "; ".join(problems))
    tmux.keys("Enter")
    wait_for(f"the {keys} keys typed through the impaired link",
             lambda: re.search(rf"^load{'x' * keys}\s*$", tmux.screen(), re.M), timeout)
    print(f"impaired: {keys} keys typed until the relay had lost, duplicated or reordered datagrams "
          "each way as asked; all arrived")


def check_impairment(stats, deliveries, relay_args):
    """At the end, from the relay's final stats: the impairments it was asked for happened."""
    problems = impairment_problems(stats, deliveries, relay_options(relay_args))
    summary = "; ".join(f"{d}: received {stats[d]['received']}, forwarded {stats[d]['forwarded']}, "
                        f"lost {stats[d]['dropped_loss']}, blacked out {stats[d]['dropped_blackout']}, "
                        f"to an old port {stats[d]['dropped_stale_upstream']}, "
                        f"duplicated {stats[d]['duplicated']}, held back {stats[d]['reordered']}"
                        for d in udp_relay.DIRS)
    print(f"relay: {summary}; rebinds {stats['rebinds']}")
    if problems:
        raise Failure("the relay did not impair the link as asked: " + "; ".join(problems))


def session_shell(server_pid):
    """The session's shell: the server's one child process."""
    kids = [p for p in map(int, filter(str.isdigit, os.listdir("/proc"))) if parent_pid(p) == server_pid]
    if len(kids) != 1:
        raise Failure(f"expected one child (the shell) of server pid {server_pid}, found {kids}")
    return kids[0]


def pty_size(pid):
    """(rows, columns) of the terminal on `pid`'s stdin: what `stty size` there prints."""
    fd = os.open(f"/proc/{pid}/fd/0", os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    finally:
        os.close(fd)
    return rows, cols


def wait_for_resize(server, status_dir, server_pid, width, height, timeout):
    """Returns once the session's pty has the new size, so that a command typed next sees
    it: mosh2-server says so in its status file (it resizes its screen and the pty in one
    step); for the stock server, which has no status file, the pty is asked directly."""
    if server == "mosh2":
        want = {"width": width, "height": height}
        wait_for(f"the server's status file to show the terminal as {width}x{height}",
                 lambda: (status_of(status_dir, server_pid) or {}).get("terminal") == want, timeout)
    else:
        shell = session_shell(server_pid)
        wait_for(f"the session's pty to be {width}x{height}", lambda: pty_size(shell) == (height, width), timeout)


def start_relay(host, port, relay_args):
    """The test relay in front of the server at host:port; returns (process, its port)."""
    url_host = f"[{host}]" if ":" in host else host
    relay = subprocess.Popen([sys.executable, RELAY, "--listen", f"{url_host}:0", "--server", f"{url_host}:{port}",
                              "--duration", "120", *relay_args],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = relay.stdout.readline()
    m = re.match(r"RELAY PORT (\d+)", line)
    if not m:
        stop_relay(relay)
        raise Failure(f"relay did not start: {line!r}")
    return relay, int(m.group(1))


def tear_down(tmux, relay, server_pid, home):
    """Whatever happened: the tmux server, the relay and the session's server go, and
    the temporary home with them."""
    tmux.kill()
    if relay:
        stop_relay(relay)
    if server_pid and alive(server_pid):
        os.kill(server_pid, signal.SIGKILL)
    shutil.rmtree(home, ignore_errors=True)


def process_state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def suspend_and_resume(tmux, timeout):
    """Ctrl-^ Ctrl-Z: the client gives the terminal back (main screen, "[mosh is
    suspended.]") and stops its process group; SIGCONT brings the session back, redrawn,
    and typing works again. The client must run as a job of its own (FOREGROUND_JOB)."""
    pane_pid = int(tmux.run("display-message", "-p", "#{pane_pid}").stdout.strip())
    clients = [p for p in map(int, filter(str.isdigit, os.listdir("/proc"))) if parent_pid(p) == pane_pid]
    if len(clients) != 1:
        raise Failure(f"expected one client process under the pane's shell {pane_pid}, found {clients}")
    client = clients[0]
    tmux.keys("clear; echo before-suspend", "Enter")
    wait_for("output before the suspend", lambda: re.search(r"^before-suspend\s*$", tmux.screen(), re.M), timeout)
    tmux.hex(0x1E)
    tmux.hex(0x1A)
    wait_for("[mosh is suspended.]", lambda: "[mosh is suspended.]" in tmux.screen(), timeout)
    wait_for("the client to stop", lambda: process_state(client) == "T", timeout)
    alternate = tmux.run("display-message", "-p", "#{alternate_on}").stdout.strip()
    if alternate != "0":
        raise Failure(f"suspended, but the pane is still on the alternate screen ({alternate})")
    os.killpg(os.getpgid(client), signal.SIGCONT)
    wait_for("the session redrawn after SIGCONT",
             lambda: re.search(r"^before-suspend\s*$", tmux.screen(), re.M)
             and "[mosh is suspended.]" not in tmux.screen(), timeout)
    tmux.keys("echo after-resume-$((6*7))", "Enter")
    wait_for("output after the resume", lambda: re.search(r"^after-resume-42\s*$", tmux.screen(), re.M), timeout)
    print(f"suspend: client {client} stopped with the terminal given back (main screen), "
          "and came back redrawn and working after SIGCONT")


def expect_clean_exit(tmux, program, status_file, server_pid, timeout, server_timeout=None):
    """After the quit: `program` (the pane's command, which writes its exit status to
    `status_file`) must exit with status 0, and the server must be gone."""
    status = wait_for(f"{program} to exit",
                      lambda: os.path.exists(status_file) and open(status_file).read().strip(), timeout)
    if status != "0":
        raise Failure(f"{program} exited with status {status}; screen:\n{tmux.screen()}")
    wait_for("the server to exit", lambda: not alive(server_pid), server_timeout or timeout)


def stop_relay(relay, stats_path=None):
    """SIGTERM, bounded wait; the relay's --stats when asked for."""
    if relay.poll() is None:
        relay.send_signal(signal.SIGTERM)
        try:
            relay.wait(timeout=5)
        except subprocess.TimeoutExpired:
            relay.kill()
            relay.wait(timeout=5)
    if stats_path is None:
        return None
    try:
        with open(stats_path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise Failure(f"no relay stats: {e}") from None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", choices=["stock", "mosh2"], required=True)
    ap.add_argument("--client", choices=["stock", "mosh2"], required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--quit", choices=["escape", "exit"], default="escape")
    ap.add_argument("--relay-args", default="")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds allowed for each screen check")
    ap.add_argument("--bind", default="127.0.0.1", help="the server's -i: an address or an interface name")
    ap.add_argument("--connect", default="127.0.0.1", help="the address the client (or the relay) sends to")
    ap.add_argument("--expect-bound", default=None,
                    help="the address the server's socket must be bound to (default: --connect)")
    ap.add_argument("--bulk", action="store_true", help="check a screenful of random text")
    ap.add_argument("--suspend", action="store_true", help="suspend with Ctrl-^ Ctrl-Z, then resume")
    ap.add_argument("--flood", type=float, default=0.0, metavar="S", help="run `yes` for S seconds, then Ctrl-C")
    ap.add_argument("--rss-growth-mb", type=float, default=16.0,
                    help="the most the server's VmRSS may grow over the flood")
    ap.add_argument("--outage", type=float, default=0.0, metavar="S",
                    help="black the relay out for S seconds once the session is up, while typing")
    ap.add_argument("--hop-blackout", type=float, default=0.0, metavar="S",
                    help="as --outage, and the client must hop ports")
    ap.add_argument("--roam", type=int, default=0, metavar="N",
                    help="move the relay to a new upstream port N times; the server must follow each time")
    args = ap.parse_args()
    expect_bound = args.expect_bound or args.connect
    if args.roam and args.server != "mosh2":
        ap.error("--roam reads the server's status file: it needs --server mosh2")
    if args.outage and args.hop_blackout:
        ap.error("--outage and --hop-blackout are one blackout each; give one")

    try:
        need("tmux")
        if ":" in args.connect or ":" in args.bind or ":" in expect_bound:
            require_ipv6_loopback()
    except Failure as e:
        print(f"FAIL: {e}")
        return 1
    env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="xterm-256color")
    home = tempfile.mkdtemp(prefix="mosh2-interop-")
    env["HOME"] = home
    env["SHELL"] = "/bin/sh"
    env["PS1"] = "$ "
    status_dir = os.path.join(home, "status")  # this test's own: other sessions run on the machine
    env["MOSH2_STATUS_DIR"] = status_dir
    tmux = Tmux(80, 24)
    relay = None
    server_pid = None
    stats_path = os.path.join(home, "relay-stats.json")
    deliveries_path = os.path.join(home, "relay-deliveries.jsonl")
    relay_args = shlex.split(args.relay_args)
    blackout = args.outage or args.hop_blackout
    if blackout:
        relay_args += ["--blackout-on-signal", str(blackout)]
    if args.roam:
        relay_args += ["--rebind-on-signal"]
    try:
        port, key, server_pid = start_server(args.server, args.build, env, args.bind)
        find_server(port, server_pid, expect_bound)
        target = port
        if relay_args:
            relay, target = start_relay(args.connect, port,
                                        ["--stats", stats_path, "--deliveries", deliveries_path, *relay_args])

        client = need("mosh-client") if args.client == "stock" else os.path.join(args.build, "tools", "mosh2-client")
        status_file = os.path.join(home, "client-status")
        # --suspend runs the client as a job of its own, so that its SIGSTOP stops it alone.
        job = f"{sys.executable} {FOREGROUND_JOB} " if args.suspend else ""
        tmux.start(f"{job}env MOSH_KEY={key} HOME={home} MOSH2_STATUS_DIR={status_dir} {client} {args.connect} "
                   f"{target}; echo $? > {status_file}")
        wait_for("the shell prompt", lambda: re.search(r"^[$#]( |$)", tmux.screen(), re.M), args.timeout)
        # Again, now that the shell runs: mosh2's socket must not have leaked into it.
        find_server(port, server_pid, expect_bound, exclusive=args.server == "mosh2")

        tmux.keys("echo marker-$((6*7))", "Enter")
        wait_for("the command's output", lambda: re.search(r"^marker-42\s*$", tmux.screen(), re.M), args.timeout)

        tmux.resize(100, 30)
        wait_for_resize(args.server, status_dir, server_pid, 100, 30, args.timeout)
        tmux.keys("stty size", "Enter")
        wait_for("stty size to report 30 100", lambda: re.search(r"^30 100\s*$", tmux.screen(), re.M),
                 args.timeout)

        check_extensions(args, status_dir, server_pid)

        tmux.keys("printf 'wide:%s\\n' 日本語", "Enter")
        wait_for("UTF-8 output", lambda: "wide:日本語" in tmux.screen(), args.timeout)

        if relay:
            opts = relay_options(shlex.split(args.relay_args))
            if any(v > 0 for option in (opts.loss, opts.dup, opts.reorder) for v in option.values()):
                impaired_typing(tmux, stats_path, deliveries_path, opts, args.timeout)

        if args.suspend:
            suspend_and_resume(tmux, args.timeout)

        if args.bulk:
            bulk(tmux, home, args.timeout, port)

        if args.flood:
            flood(tmux, server_pid, args.flood, args.rss_growth_mb, args.timeout,
                  f"{args.client} client, {args.server} server")

        typed = []
        if blackout:
            typed = outage(tmux, relay, blackout, args.timeout)
            tmux.keys("echo after-$((40+2))", "Enter")
            wait_for("output after the outage", lambda: re.search(r"^after-42\s*$", tmux.screen(), re.M),
                     args.timeout)

        ports = roam(tmux, relay, status_dir, server_pid, args.roam, args.timeout) if args.roam else []

        if args.quit == "escape":
            tmux.hex(0x1E)
            tmux.keys(".")
        else:
            tmux.keys("exit", "Enter")
        expect_clean_exit(tmux, "the client", status_file, server_pid, args.timeout)
        if relay:
            stats = stop_relay(relay, stats_path)
            check_impairment(stats, read_deliveries(deliveries_path), shlex.split(args.relay_args))
            if blackout:
                check_outage(stats, typed, blackout)
            if args.outage and not args.hop_blackout:
                check_kept_ports(stats)
            if args.hop_blackout:
                check_hop(stats, args.hop_blackout)
            if args.roam:
                check_roams(stats, ports, args.roam)
        print(f"ok: {args.client} client <-> {args.server} server on {args.connect} (-i {args.bind}), "
              f"quit by {args.quit}" + (f", relay {' '.join(relay_args)}" if relay_args else "")
              + (", bulk" if args.bulk else "") + (f", flood {args.flood:g} s" if args.flood else "")
              + (", suspended and resumed" if args.suspend else "")
              + (f", {blackout:g} s outage" if blackout else "") + (f", {args.roam} roams" if args.roam else ""))
        return 0
    except Failure as e:
        print(f"FAIL: {args.client} client <-> {args.server} server: {e}")
        print("screen:\n" + tmux.screen())
        return 1
    finally:
        tear_down(tmux, relay, server_pid, home)


if __name__ == "__main__":
    sys.exit(main())
