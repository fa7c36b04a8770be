#!/usr/bin/env python3
"""Self-test of test/support/udp_relay.py on loopback: a fake client socket and a fake
server socket talk through the relay, and each check looks at what arrives (and at the
relay's --capture, --deliveries and --stats files).

    python3 test/integration/relay_selftest.py [--relay PATH] [-v]

Exit 0 when every check passes, 1 otherwise. 127.0.0.1 only; every relay it starts is
killed at the end; the whole run is bounded by an alarm (90 s). Python 3 stdlib only.
"""

import argparse
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_RELAY = os.path.join(os.path.dirname(HERE), "support", "udp_relay.py")
VERBOSE = False


class CheckFailed(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise CheckFailed(msg)


def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s


def recv_all(sock, timeout, limit=100000):
    """Everything that arrives on sock until `timeout` seconds pass with nothing new."""
    got = []
    while len(got) < limit:
        ready, _, _ = select.select([sock], [], [], timeout)
        if not ready:
            break
        data, src = sock.recvfrom(65535)
        got.append((data, src, time.monotonic()))
    return got


def recv_one(sock, timeout):
    got = recv_all(sock, timeout, limit=1)
    return got[0] if got else None


class RelayProc:
    """One relay process in front of a fresh fake server socket; always killed."""

    def __init__(self, relay_path, tmp, *extra, duration=20):
        self.server = udp()
        self.client = udp()
        self.tmp = tmp
        self.capture = os.path.join(tmp, "capture.jsonl")
        self.deliveries = os.path.join(tmp, "deliveries.jsonl")
        self.stats_path = os.path.join(tmp, "stats.json")
        for p in (self.capture, self.deliveries, self.stats_path):
            if os.path.exists(p):
                os.unlink(p)
        cmd = [sys.executable, relay_path, "--listen", "127.0.0.1:0",
               "--server", f"127.0.0.1:{self.server.getsockname()[1]}",
               "--capture", self.capture, "--deliveries", self.deliveries,
               "--stats", self.stats_path, "--duration", str(duration), *extra]
        if VERBOSE:
            cmd.append("--verbose")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 10)
        line = self.proc.stdout.readline().strip() if ready else ""
        expect(line.startswith("RELAY PORT "), f"relay printed {line!r}, not 'RELAY PORT <n>'")
        self.port = int(line.split()[2])
        self.addr = ("127.0.0.1", self.port)
        self.started = time.monotonic()

    def c2s(self, data):
        self.client.sendto(data, self.addr)

    def stop(self):
        """SIGTERM, bounded wait; returns the stats the relay wrote."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise CheckFailed("relay did not exit within 5 s of SIGTERM")
        expect(self.proc.returncode == 0, f"relay exited with {self.proc.returncode}")
        with open(self.stats_path) as f:
            return json.load(f)

    def lines(self, path):
        with open(path) as f:
            return [json.loads(l) for l in f]

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc.stdout.close()
        self.server.close()
        self.client.close()


# ---- checks --------------------------------------------------------------------------

def check_forwarding(r):
    r.c2s(b"hello")
    got = recv_one(r.server, 2)
    expect(got and got[0] == b"hello", "c2s datagram not forwarded")
    relay_src = got[1]
    expect(relay_src[0] == "127.0.0.1", f"relay sent from {relay_src}")
    r.server.sendto(b"world", relay_src)
    back = recv_one(r.client, 2)
    expect(back and back[0] == b"world" and back[1] == r.addr, "s2c reply not forwarded")
    # A second client address: the relay follows the newest one.
    other = udp()
    try:
        other.sendto(b"roamed", r.addr)
        got = recv_one(r.server, 2)
        expect(got and got[0] == b"roamed", "datagram from the new client address lost")
        r.server.sendto(b"to-new", got[1])
        expect(recv_one(other, 2) is not None, "relay did not follow the new client address")
        expect(recv_one(r.client, 0.2) is None, "relay still sends to the old client address")
    finally:
        other.close()
    stats = r.stop()
    cap = r.lines(r.capture)
    expect([(c["dir"], bytes.fromhex(c["hex"])) for c in cap] ==
           [("c2s", b"hello"), ("s2c", b"world"), ("c2s", b"roamed"), ("s2c", b"to-new")],
           f"capture is {cap}")
    expect(all(isinstance(c["t_ms"], (int, float)) for c in cap), "t_ms missing")
    dl = r.lines(r.deliveries)
    expect([d["n"] for d in dl] == [0, 1, 2, 3], f"deliveries are {dl}")
    expect(stats["c2s"]["received"] == 2 and stats["c2s"]["forwarded"] == 2 and
           stats["s2c"]["received"] == 2 and stats["s2c"]["forwarded"] == 2,
           f"stats are {stats}")
    expect(stats["client_addresses"] == 2, f"client_addresses {stats['client_addresses']}")


def check_upstream_port_reported(relay_path, tmp):
    r = RelayProc(relay_path, tmp)
    try:
        r.c2s(b"learn")
        got = recv_one(r.server, 2)
        expect(got is not None, "no datagram")
        stats = r.stop()
        expect(stats["upstream_ports"] == [got[1][1]], f"upstream ports {stats['upstream_ports']}")
        expect(stats["s2c"]["dropped_no_peer"] == 0, "spurious no-peer drop")
    finally:
        r.close()


def check_delay(r):
    t = time.monotonic()
    r.c2s(b"d")
    got = recv_one(r.server, 3)
    expect(got is not None, "delayed datagram never arrived")
    one_way = got[2] - t
    expect(0.14 <= one_way <= 0.8, f"c2s took {one_way * 1000:.0f} ms with --delay-ms 150:0")
    t = time.monotonic()
    r.server.sendto(b"e", got[1])
    back = recv_one(r.client, 3)
    expect(back is not None and back[2] - t < 0.1,
           "s2c should not be delayed with --delay-ms 150:0")
    r.stop()


def check_jitter(r):
    sent = {}
    for i in range(20):
        sent[i] = time.monotonic()
        r.c2s(bytes([i]))
    got = recv_all(r.server, 0.5)
    expect(len(got) == 20, f"{len(got)} of 20 jittered datagrams arrived")
    delays = [g[2] - sent[g[0][0]] for g in got]
    expect(min(delays) >= 0.045 and max(delays) <= 0.5,
           f"delays {min(delays):.3f}..{max(delays):.3f} s outside 50 ms + [0, 100] ms")
    expect(max(delays) - min(delays) > 0.02, "no visible jitter")
    r.stop()


def check_loss(r, n=200):
    for i in range(n):
        r.c2s(i.to_bytes(2, "big"))
        if i % 20 == 19:
            time.sleep(0.005)  # keep socket buffers far from full
    got = recv_all(r.server, 0.5)
    expect(n * 0.35 <= len(got) <= n * 0.65, f"{len(got)} of {n} arrived with --loss 0.5")
    # Replies: s2c is loss-free in this run (--loss 0.5:0).
    src = got[0][1]
    for i in range(50):
        r.server.sendto(b"r", src)
    back = recv_all(r.client, 0.5)
    expect(len(back) == 50, f"{len(back)} of 50 s2c arrived with --loss 0.5:0")
    stats = r.stop()
    expect(stats["c2s"]["received"] == n and
           stats["c2s"]["dropped_loss"] == n - len(got) and
           stats["c2s"]["forwarded"] == len(got), f"stats {stats['c2s']}")
    dl = r.lines(r.deliveries)
    expect(len(dl) == len(got) + 50, "deliveries do not match what arrived")
    return sorted(int.from_bytes(g[0], "big") for g in got)


def check_dup(r):
    for i in range(10):
        r.c2s(bytes([i]))
    got = recv_all(r.server, 0.5)
    expect(sorted(g[0][0] for g in got) == sorted(list(range(10)) * 2),
           f"--dup 1 delivered {[g[0][0] for g in got]}")
    stats = r.stop()
    expect(stats["c2s"]["duplicated"] == 10 and stats["c2s"]["forwarded"] == 20,
           f"stats {stats['c2s']}")


def check_reorder(r):
    for i in range(6):
        r.c2s(bytes([i]))
        time.sleep(0.03)
    got = recv_all(r.server, 0.5)
    order = [g[0][0] for g in got]
    expect(order == [1, 0, 3, 2, 5, 4], f"--reorder 1 delivered {order}, want [1,0,3,2,5,4]")
    # A lone held datagram is released after --reorder-max-hold-ms (100 ms here).
    t = time.monotonic()
    r.c2s(b"\x09")
    got = recv_one(r.server, 2)
    expect(got is not None and got[0] == b"\x09", "held datagram never released")
    expect(0.08 <= got[2] - t <= 1.0, f"held datagram released after {got[2] - t:.3f} s")
    r.stop()


def check_rebind(r):
    ports = []
    deadline = time.monotonic() + 1.7
    i = 0
    while time.monotonic() < deadline:
        r.c2s(bytes([i % 256]))
        i += 1
        got = recv_one(r.server, 0.5)
        expect(got is not None, "datagram lost during rebinding")
        if not ports or ports[-1] != got[1][1]:
            ports.append(got[1][1])
        r.server.sendto(b"ack", got[1])
        expect(recv_one(r.client, 0.5) is not None, "reply via the newest port lost")
        time.sleep(0.1)
    expect(len(ports) >= 3 and len(set(ports)) == len(ports),
           f"source ports seen by the server: {ports} (want >= 3 distinct, every 0.5 s)")
    # A reply to an old source port still reaches the client (old sockets stay open).
    r.server.sendto(b"late", ("127.0.0.1", ports[0]))
    late = recv_one(r.client, 1)
    expect(late is not None and late[0] == b"late", "reply to an old upstream port lost")
    stats = r.stop()
    expect(stats["rebinds"] >= 2, f"rebinds {stats['rebinds']}")
    expect(stats["upstream_ports"][:len(ports)] == ports, f"upstream ports {stats['upstream_ports']}")


def check_blackout(r):
    deadline = r.started + 1.6
    i = 0
    while time.monotonic() < deadline:
        r.c2s(i.to_bytes(2, "big"))
        i += 1
        time.sleep(0.04)
    recv_all(r.server, 0.3)
    stats = r.stop()
    cap = r.lines(r.capture)
    delivered = {d["n"] for d in r.lines(r.deliveries)}
    inside = [n for n, c in enumerate(cap) if 500 <= c["t_ms"] < 1000]
    outside = [n for n, c in enumerate(cap) if not 500 <= c["t_ms"] < 1000]
    expect(len(inside) >= 5 and len(outside) >= 5, "test timing off: too few datagrams")
    expect(not delivered & set(inside), "datagrams inside the blackout were delivered")
    expect(set(outside) <= delivered, "datagrams outside the blackout were dropped")
    expect(stats["c2s"]["dropped_blackout"] == len(inside), f"stats {stats['c2s']}")


def check_client_ports(r):
    """A client that hops source ports (A, then B, then back to A): the relay follows
    every change, even inside a blackout, and lists each distinct port once."""
    b = udp()
    try:
        a_port, b_port = r.client.getsockname()[1], b.getsockname()[1]
        r.c2s(b"from-a")
        got = recv_one(r.server, 2)
        expect(got is not None, "first datagram lost")
        time.sleep(max(0.0, 0.6 - (time.monotonic() - r.started)))  # into the blackout [0.5, 1.0)
        b.sendto(b"from-b-in-blackout", r.addr)
        expect(recv_one(r.server, 0.2) is None, "datagram inside the blackout delivered")
        time.sleep(max(0.0, 1.1 - (time.monotonic() - r.started)))
        r.server.sendto(b"to-b", got[1])
        back = recv_one(b, 2)
        expect(back is not None and back[0] == b"to-b",
               "after a blackout the reply did not go to the port the client hopped to")
        r.c2s(b"from-a-again")
        expect(recv_one(r.server, 2) is not None, "datagram from the first port again lost")
        stats = r.stop()
    finally:
        b.close()
    ports = [p["port"] for p in stats["client_ports"]]
    expect(ports == [a_port, b_port], f"client_ports {stats['client_ports']}, want ports [{a_port}, {b_port}]")
    expect(stats["client_addresses"] == 3, f"client_addresses {stats['client_addresses']}, want 3")
    seen = [p["first_seen_ms"] for p in stats["client_ports"]]
    expect(seen[0] < 500 <= seen[1] < 1000, f"first_seen_ms {seen}")


def check_signal_blackout(r):
    """--blackout-on-signal 0.5: SIGUSR1 drops both directions for 0.5 s from then."""
    r.c2s(b"before")
    got = recv_one(r.server, 2)
    expect(got is not None, "datagram before the signal lost")
    relay_src = got[1]
    t_signal = time.monotonic()
    r.proc.send_signal(signal.SIGUSR1)
    time.sleep(0.1)
    r.c2s(b"during")
    r.server.sendto(b"during-back", relay_src)
    expect(recv_one(r.server, 0.2) is None, "c2s datagram inside the signalled blackout delivered")
    expect(recv_one(r.client, 0.05) is None, "s2c datagram inside the signalled blackout delivered")
    time.sleep(max(0.0, t_signal + 0.7 - time.monotonic()))
    r.c2s(b"after")
    got = recv_one(r.server, 2)
    expect(got is not None and got[0] == b"after", "datagram after the signalled blackout lost")
    stats = r.stop()
    expect(len(stats["signal_blackouts"]) == 1, f"signal_blackouts {stats['signal_blackouts']}")
    start, end = stats["signal_blackouts"][0]
    expect(abs(end - start - 500) < 1, f"signalled blackout {start}..{end} ms is not 500 ms long")
    expect(stats["c2s"]["dropped_blackout"] == 1 and stats["s2c"]["dropped_blackout"] == 1,
           f"stats {stats['c2s']} {stats['s2c']}")


def check_duration(relay_path, tmp):
    r = RelayProc(relay_path, tmp, duration=1)
    try:
        t = time.monotonic()
        try:
            r.proc.wait(4)
        except subprocess.TimeoutExpired:
            raise CheckFailed("relay ignored --duration 1") from None
        expect(r.proc.returncode == 0, f"exit status {r.proc.returncode}")
        expect(time.monotonic() - t < 3, "relay outlived --duration by far")
        expect(os.path.exists(r.stats_path), "no --stats file after --duration")
    finally:
        r.close()


def check_bad_args(relay_path):
    p = subprocess.run([sys.executable, relay_path, "--server", "127.0.0.1:1", "--loss", "2"],
                       capture_output=True, text=True, timeout=10)
    expect(p.returncode == 2 and not p.stdout, "--loss 2 was accepted")


def check_seed_is_deterministic(relay_path, tmp, first):
    r = RelayProc(relay_path, tmp, "--loss", "0.5:0", "--seed", "3")
    try:
        second = check_loss(r)
    finally:
        r.close()
    expect(first == second, "same --seed, different losses")


def main():
    global VERBOSE
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--relay", default=DEFAULT_RELAY)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    VERBOSE = args.verbose

    def on_alarm(_s, _f):
        raise CheckFailed("self-test took longer than 90 s")
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(90)

    failures = 0
    loss_pattern = []
    with tempfile.TemporaryDirectory(prefix="relay-selftest-") as tmp:
        cases = [
            ("forwarding, capture, deliveries, client roaming", [], check_forwarding),
            ("fixed delay 150 ms c2s only", ["--delay-ms", "150:0"], check_delay),
            ("delay 50 ms + jitter 100 ms", ["--delay-ms", "50", "--jitter-ms", "100"],
             check_jitter),
            ("loss 0.5 c2s only", ["--loss", "0.5:0", "--seed", "3"],
             lambda r: loss_pattern.extend(check_loss(r))),
            ("duplication", ["--dup", "1"], check_dup),
            ("reordering", ["--reorder", "1", "--reorder-max-hold-ms", "100"], check_reorder),
            ("rebind every 0.5 s", ["--rebind-every", "0.5"], check_rebind),
            ("blackout 0.5 s for 0.5 s", ["--blackout", "0.5:0.5"], check_blackout),
            ("client source ports: hops followed and listed once",
             ["--blackout", "0.5:0.5"], check_client_ports),
            ("blackout on SIGUSR1", ["--blackout-on-signal", "0.5"], check_signal_blackout),
        ]
        for name, extra, fn in cases:
            r = None
            try:
                r = RelayProc(args.relay, tmp, *extra)
                fn(r)
                print(f"ok    {name}")
            except CheckFailed as e:
                failures += 1
                print(f"FAIL  {name}: {e}")
            finally:
                if r:
                    r.close()
        for name, fn in [
            ("same seed, same losses",
             lambda: check_seed_is_deterministic(args.relay, tmp, loss_pattern)),
            ("--duration ends the relay", lambda: check_duration(args.relay, tmp)),
            ("server-side upstream port is reported", lambda: check_upstream_port_reported(args.relay, tmp)),
            ("bad arguments exit 2", lambda: check_bad_args(args.relay)),
        ]:
            try:
                fn()
                print(f"ok    {name}")
            except CheckFailed as e:
                failures += 1
                print(f"FAIL  {name}: {e}")
    signal.alarm(0)
    print(f"relay self-test: {'PASS' if failures == 0 else f'{failures} FAILED'}")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
