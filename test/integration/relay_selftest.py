#!/usr/bin/env python3
"""Self-test of test/support/udp_relay.py on loopback: a fake client socket and a fake
server socket talk through the relay, and each check looks at what arrives and at the
relay's own record of it (--capture, --deliveries, --stats).

    python3 test/integration/relay_selftest.py [--relay PATH] [-v]

The checks do not race the clock. Counts are taken after the relay has stopped: it
forwards everything already queued on its sockets before it exits, so what the fake
peers then find in their sockets is exactly what went through. Times come from the
relay's own log (when it received a datagram, when it sent it on, the delay it drew),
and only bounds that cannot be missed by a slow machine are asserted: a delay is never
shorter than asked for; the upper bounds are seconds, there only to catch a relay that
holds datagrams for good. The two checks of time windows (--blackout) place each
datagram by the relay's capture time and ask for a margin of seconds around the window.

Exit 0 when every check passes, 1 otherwise. 127.0.0.1 only; every relay it starts is
killed at the end; the whole run is bounded by an alarm (150 s). Python 3 stdlib only.
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
# How long to wait for a datagram the relay forwards at once. Loopback takes
# microseconds; 5 s is for a machine so busy that two Python processes wait their turn.
WAIT = 5.0


class CheckFailed(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise CheckFailed(msg)


def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s


def recv_one(sock, timeout):
    """The next datagram on sock as (data, source, arrival time), or None after `timeout`."""
    ready, _, _ = select.select([sock], [], [], timeout)
    if not ready:
        return None
    data, src = sock.recvfrom(65535)
    return data, src, time.monotonic()


def drain(sock, limit=100000):
    """Every datagram already queued on sock, without waiting."""
    got = []
    sock.setblocking(False)
    try:
        while len(got) < limit:
            try:
                data, src = sock.recvfrom(65535)
            except BlockingIOError:
                break
            got.append((data, src))
    finally:
        sock.setblocking(True)
    return got


def sleep_until(t):
    time.sleep(max(0.0, t - time.monotonic()))


class RelayProc:
    """One relay process in front of a fresh fake server socket; always killed."""

    def __init__(self, relay_path, tmp, *extra, duration=30):
        self.server = udp()
        self.client = udp()
        self.tmp = tmp
        self.capture = os.path.join(tmp, "capture.jsonl")
        self.deliveries = os.path.join(tmp, "deliveries.jsonl")
        self.stats_path = os.path.join(tmp, "stats.json")
        self.stderr_path = os.path.join(tmp, "stderr.txt")
        for p in (self.capture, self.deliveries, self.stats_path, self.stderr_path):
            if os.path.exists(p):
                os.unlink(p)
        cmd = [sys.executable, relay_path, "--listen", "127.0.0.1:0",
               "--server", f"127.0.0.1:{self.server.getsockname()[1]}",
               "--capture", self.capture, "--deliveries", self.deliveries,
               "--stats", self.stats_path, "--duration", str(duration), *extra]
        if VERBOSE:
            cmd.append("--verbose")
        self.stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        line = self.proc.stdout.readline().strip() if ready else ""
        expect(line.startswith("RELAY PORT "), f"relay printed {line!r}, not 'RELAY PORT <n>'")
        self.port = int(line.split()[2])
        self.addr = ("127.0.0.1", self.port)
        # Later than the relay's own time zero, which came before it printed its port.
        self.started = time.monotonic()

    def c2s(self, data):
        self.client.sendto(data, self.addr)

    def stop(self):
        """SIGTERM, bounded wait; returns the stats the relay wrote."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise CheckFailed("relay did not exit within 10 s of SIGTERM")
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
        self.stderr.close()
        self.server.close()
        self.client.close()


# ---- checks --------------------------------------------------------------------------

def check_forwarding(r):
    r.c2s(b"hello")
    got = recv_one(r.server, WAIT)
    expect(got and got[0] == b"hello", "c2s datagram not forwarded")
    relay_src = got[1]
    expect(relay_src[0] == "127.0.0.1", f"relay sent from {relay_src}")
    r.server.sendto(b"world", relay_src)
    back = recv_one(r.client, WAIT)
    expect(back and back[0] == b"world" and back[1] == r.addr, "s2c reply not forwarded")
    # A second client address: the relay follows the newest one.
    other = udp()
    try:
        other.sendto(b"roamed", r.addr)
        got = recv_one(r.server, WAIT)
        expect(got and got[0] == b"roamed", "datagram from the new client address lost")
        r.server.sendto(b"to-new", got[1])
        expect(recv_one(other, WAIT) is not None, "relay did not follow the new client address")
        stats = r.stop()
        expect(drain(r.client) == [], "relay still sends to the old client address")
    finally:
        other.close()
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
    with open(r.stderr_path) as f:
        summary = [l for l in f if l.startswith("RELAY STATS ")]
    expect(len(summary) == 1, f"expected one RELAY STATS line on stderr, got {summary}")
    line = json.loads(summary[0][len("RELAY STATS "):])
    expect(line["c2s"] == stats["c2s"] and line["s2c"] == stats["s2c"],
           f"the RELAY STATS line {line} disagrees with --stats")


def check_upstream_port_reported(relay_path, tmp):
    r = RelayProc(relay_path, tmp)
    try:
        r.c2s(b"learn")
        got = recv_one(r.server, WAIT)
        expect(got is not None, "no datagram")
        stats = r.stop()
        expect(stats["upstream_ports"] == [got[1][1]], f"upstream ports {stats['upstream_ports']}")
        expect(stats["s2c"]["dropped_no_peer"] == 0, "spurious no-peer drop")
    finally:
        r.close()


def delivery_delays(r, direction):
    """[(n, drawn delay ms, actual ms from capture to delivery)] from the relay's log."""
    cap = r.lines(r.capture)
    return [(d["n"], d["delay_ms"], d["t_ms"] - cap[d["n"]]["t_ms"])
            for d in r.lines(r.deliveries) if d["dir"] == direction]


def check_delay(r):
    t = time.monotonic()
    r.c2s(b"d")
    got = recv_one(r.server, 1 + WAIT)
    expect(got is not None, "delayed datagram never arrived")
    expect(got[2] - t >= 1.0, f"c2s arrived {(got[2] - t) * 1000:.0f} ms after it was sent, "
                               "before the 1000 ms --delay-ms")
    r.server.sendto(b"e", got[1])
    expect(recv_one(r.client, WAIT) is not None, "s2c datagram lost")
    r.stop()
    (_, c2s_drawn, c2s_actual), = delivery_delays(r, "c2s")
    (_, s2c_drawn, s2c_actual), = delivery_delays(r, "s2c")
    expect(c2s_drawn == 1000 and c2s_actual >= 1000, f"c2s delay drawn {c2s_drawn}, actual {c2s_actual} ms")
    # The relay sends an undelayed datagram within the same call that received it; the
    # 1000 ms bound only separates "not delayed" from "given the c2s delay".
    expect(s2c_drawn == 0 and s2c_actual < 1000,
           f"s2c delay drawn {s2c_drawn}, actual {s2c_actual} ms with --delay-ms 1000:0")


def check_jitter(r):
    for i in range(20):
        r.c2s(bytes([i]))
    got = [recv_one(r.server, 1 + WAIT) for _ in range(20)]
    expect(all(got), f"{sum(1 for g in got if g)} of 20 jittered datagrams arrived")
    r.stop()
    delays = delivery_delays(r, "c2s")
    expect(len(delays) == 20, f"{len(delays)} deliveries logged")
    drawn = [d for _, d, _ in delays]
    expect(all(50 <= d <= 150 for d in drawn), f"drawn delays {drawn} outside 50 ms + [0, 100] ms")
    expect(max(drawn) - min(drawn) > 20, f"no visible jitter in the drawn delays {drawn}")
    early = [(n, d, a) for n, d, a in delays if a < d]
    expect(not early, f"sent before their delay was up (n, drawn, actual): {early}")


def check_loss(r, n=200):
    for i in range(n):
        r.c2s(i.to_bytes(2, "big"))
        if i % 20 == 19:
            time.sleep(0.005)  # keep the relay's receive buffer far from full
    first = recv_one(r.server, WAIT)
    expect(first is not None, "nothing arrived with --loss 0.5")
    # Replies: s2c is loss-free in this run (--loss 0.5:0).
    for i in range(50):
        r.server.sendto(b"r", first[1])
    stats = r.stop()
    got = [first[0]] + [d for d, _ in drain(r.server)]
    back = drain(r.client)
    expect(n * 0.35 <= len(got) <= n * 0.65, f"{len(got)} of {n} arrived with --loss 0.5")
    expect(len(back) == 50, f"{len(back)} of 50 s2c arrived with --loss 0.5:0")
    expect(stats["c2s"]["received"] == n and
           stats["c2s"]["dropped_loss"] == n - len(got) and
           stats["c2s"]["forwarded"] == len(got), f"stats {stats['c2s']}")
    dl = r.lines(r.deliveries)
    expect(len(dl) == len(got) + 50, "deliveries do not match what arrived")
    return sorted(int.from_bytes(g, "big") for g in got)


def check_dup(r):
    for i in range(10):
        r.c2s(bytes([i]))
    stats = r.stop()
    got = [d[0] for d, _ in drain(r.server)]
    expect(sorted(got) == sorted(list(range(10)) * 2), f"--dup 1 delivered {got}")
    expect(stats["c2s"]["duplicated"] == 10 and stats["c2s"]["forwarded"] == 20,
           f"stats {stats['c2s']}")


def check_reorder(r):
    # Held for up to a minute: each one waits for the next, however slow the machine.
    for i in range(6):
        r.c2s(bytes([i]))
    stats = r.stop()
    order = [d[0] for d, _ in drain(r.server)]
    expect(order == [1, 0, 3, 2, 5, 4], f"--reorder 1 delivered {order}, want [1,0,3,2,5,4]")
    expect([d["n"] for d in r.lines(r.deliveries)] == [1, 0, 3, 2, 5, 4], "deliveries log disagrees")
    expect(stats["c2s"]["reordered"] == 3, f"stats {stats['c2s']}")


def check_hold_released(r):
    """A lone held datagram is released after --reorder-max-hold-ms (300 ms here)."""
    t = time.monotonic()
    r.c2s(b"\x09")
    got = recv_one(r.server, 1 + WAIT)
    expect(got is not None and got[0] == b"\x09", "held datagram never released")
    expect(got[2] - t >= 0.3, f"held datagram released after {got[2] - t:.3f} s, before the 300 ms hold")
    r.stop()
    (_, _, actual), = delivery_delays(r, "c2s")
    expect(actual >= 300, f"the relay logged the release {actual} ms after receiving it")


def check_rebind_on_signal(r):
    """Each SIGUSR2 moves c2s to a new source port; the server's datagrams to an old
    port are dropped, not forwarded."""
    r.c2s(b"first")
    got = recv_one(r.server, WAIT)
    expect(got is not None, "first datagram lost")
    ports = [got[1][1]]
    for roam in range(2):
        r.proc.send_signal(signal.SIGUSR2)
        # The relay handles a signal before any datagram that arrives after it.
        r.c2s(f"roam-{roam}".encode())
        got = recv_one(r.server, WAIT)
        expect(got is not None, f"datagram after roam {roam} lost")
        expect(got[1][1] not in ports, f"after SIGUSR2 the relay still sends from port {got[1][1]} ({ports})")
        ports.append(got[1][1])
        r.server.sendto(f"to-new-{roam}".encode(), got[1])
        back = recv_one(r.client, WAIT)
        expect(back is not None and back[0] == f"to-new-{roam}".encode(), "reply via the newest port lost")
        r.server.sendto(b"stale", ("127.0.0.1", ports[-2]))
    stats = r.stop()
    expect(drain(r.client) == [], "a datagram to an old upstream port reached the client")
    expect(stats["upstream_ports"] == ports, f"upstream ports {stats['upstream_ports']}, server saw {ports}")
    expect(stats["rebinds"] == 2, f"rebinds {stats['rebinds']}")
    expect(stats["s2c"]["dropped_stale_upstream"] == 2 and stats["s2c"]["forwarded"] == 2,
           f"stats {stats['s2c']}")


def check_rebind_every(r):
    """--rebind-every 0.3: new source ports, in the order the relay logged them, never
    sooner than 0.3 s apart."""
    ports = []
    for i in range(300):  # bounded: at 20 ms a turn, 6 s and more for 3 ports 0.3 s apart
        r.c2s(bytes([i % 256]))
        got = recv_one(r.server, WAIT)
        expect(got is not None, "datagram lost during rebinding")
        if got[1][1] not in ports:
            ports.append(got[1][1])
        if len(ports) == 3:
            break
        time.sleep(0.02)
    expect(len(ports) == 3, f"source ports seen by the server: {ports} (want 3)")
    stats = r.stop()
    up = stats["upstream_ports"]
    at = [up.index(p) if p in up else -1 for p in ports]
    expect(at[0] == 0 and at == sorted(at), f"server saw ports {ports}, relay opened {up}")
    # The k-th new socket is due k * 300 ms after the relay's start; never sooner.
    opened = stats["upstream_opened_ms"]
    expect(len(opened) == len(up) and all(t >= 300 * k for k, t in enumerate(opened)),
           f"upstream sockets opened at {opened} ms")


def blackout_verdicts(r, window):
    """Checks, from the relay's log, that a datagram was delivered if and only if it was
    received outside `window` (ms); returns (before, inside, after) capture indices."""
    cap = r.lines(r.capture)
    delivered = {d["n"] for d in r.lines(r.deliveries)}
    before = [n for n, c in enumerate(cap) if c["t_ms"] < window[0]]
    inside = [n for n, c in enumerate(cap) if window[0] <= c["t_ms"] < window[1]]
    after = [n for n, c in enumerate(cap) if c["t_ms"] >= window[1]]
    expect(not delivered & set(inside), "datagrams inside the blackout were delivered")
    expect(set(before + after) <= delivered, "datagrams outside the blackout were dropped")
    return before, inside, after


def check_blackout(r):
    """--blackout 1:1. One datagram every 50 ms until well after the window; a stall of
    the test under a second long still leaves some before, inside and after it."""
    for i in range(200):  # bounded; ends 2.6 s after start
        if time.monotonic() - r.started >= 2.6:
            break
        r.c2s(i.to_bytes(2, "big"))
        time.sleep(0.05)
    stats = r.stop()
    before, inside, after = blackout_verdicts(r, (1000, 2000))
    expect(before and inside and after, f"datagrams before/inside/after the window: "
                                        f"{len(before)}/{len(inside)}/{len(after)}; want some of each")
    expect(stats["c2s"]["dropped_blackout"] == len(inside), f"stats {stats['c2s']}")
    expect(stats["blackouts"] == [[1000.0, 2000.0, len(inside), 0]], f"blackouts {stats['blackouts']}")


def check_client_ports(r):
    """A client that hops source ports (A, then B inside a blackout, then back to A):
    the relay follows every change, even inside a blackout, and lists each distinct
    port once. Blackout [2, 5) s: A's first datagram and B's have seconds of margin."""
    b = udp()
    try:
        a_port, b_port = r.client.getsockname()[1], b.getsockname()[1]
        r.c2s(b"from-a")
        got = recv_one(r.server, WAIT)
        expect(got is not None, "first datagram lost")
        sleep_until(r.started + 3.0)
        b.sendto(b"from-b-in-blackout", r.addr)
        sleep_until(r.started + 5.5)
        r.server.sendto(b"to-b", got[1])
        back = recv_one(b, WAIT)
        expect(back is not None and back[0] == b"to-b",
               "after a blackout the reply did not go to the port the client hopped to")
        r.c2s(b"from-a-again")
        expect(recv_one(r.server, WAIT) is not None, "datagram from the first port again lost")
        stats = r.stop()
        expect(drain(r.server) == [], "the datagram from B inside the blackout was delivered")
    finally:
        b.close()
    ports = [p["port"] for p in stats["client_ports"]]
    expect(ports == [a_port, b_port], f"client_ports {stats['client_ports']}, want ports [{a_port}, {b_port}]")
    expect(stats["client_addresses"] == 3, f"client_addresses {stats['client_addresses']}, want 3")
    seen = [p["first_seen_ms"] for p in stats["client_ports"]]
    expect(seen[0] < 2000 <= seen[1] < 5000, f"first_seen_ms {seen}")
    blackout_verdicts(r, (2000, 5000))


def check_signal_blackout(r):
    """--blackout-on-signal 3: SIGUSR1 drops both directions for 3 s from then. Datagrams
    sent right after the signal fall inside (the relay handles a signal before anything
    it reads later); the window's length and every verdict come from the relay's log."""
    r.c2s(b"before")
    got = recv_one(r.server, WAIT)
    expect(got is not None, "datagram before the signal lost")
    relay_src = got[1]
    t_signal = time.monotonic()
    r.proc.send_signal(signal.SIGUSR1)
    r.c2s(b"during")
    r.server.sendto(b"during-back", relay_src)
    sleep_until(t_signal + 3.2)
    for i in range(20):  # bounded: the relay may have started the window a little late
        r.c2s(f"after-{i}".encode())
        got = recv_one(r.server, 0.5)
        if got is not None:
            break
    expect(got is not None and got[0].startswith(b"after"), "datagrams after the signalled blackout lost")
    stats = r.stop()
    expect(len(stats["signal_blackouts"]) == 1, f"signal_blackouts {stats['signal_blackouts']}")
    start, end = stats["signal_blackouts"][0]
    expect(abs(end - start - 3000) < 1, f"signalled blackout {start}..{end} ms is not 3000 ms long")
    cap = r.lines(r.capture)
    names = [bytes.fromhex(c["hex"]) for c in cap]
    _, inside, _ = blackout_verdicts(r, (start, end))
    expect({names[n] for n in inside} >= {b"during", b"during-back"},
           f"inside the window: {[names[n] for n in inside]}")
    expect(stats["c2s"]["dropped_blackout"] >= 1 and stats["s2c"]["dropped_blackout"] == 1,
           f"stats {stats['c2s']} {stats['s2c']}")


def check_duration(relay_path, tmp):
    r = RelayProc(relay_path, tmp, duration=1)
    try:
        try:
            r.proc.wait(10)
        except subprocess.TimeoutExpired:
            raise CheckFailed("relay still running 10 s after start with --duration 1") from None
        expect(r.proc.returncode == 0, f"exit status {r.proc.returncode}")
        expect(os.path.exists(r.stats_path), "no --stats file after --duration")
        with open(r.stats_path) as f:
            took = json.load(f)["duration_ms"]
        expect(1000 <= took, f"relay ended after {took} ms, before --duration 1")
    finally:
        r.close()


def check_bad_args(relay_path):
    p = subprocess.run([sys.executable, relay_path, "--server", "127.0.0.1:1", "--loss", "2"],
                       capture_output=True, text=True, timeout=20)
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
        raise CheckFailed("self-test took longer than 150 s")
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(150)

    failures = 0
    loss_pattern = []
    with tempfile.TemporaryDirectory(prefix="relay-selftest-") as tmp:
        cases = [
            ("forwarding, capture, deliveries, client roaming", [], check_forwarding),
            ("fixed delay 1000 ms c2s only", ["--delay-ms", "1000:0"], check_delay),
            ("delay 50 ms + jitter 100 ms", ["--delay-ms", "50", "--jitter-ms", "100", "--seed", "21"],
             check_jitter),
            ("loss 0.5 c2s only", ["--loss", "0.5:0", "--seed", "3"],
             lambda r: loss_pattern.extend(check_loss(r))),
            ("duplication", ["--dup", "1"], check_dup),
            ("reordering", ["--reorder", "1", "--reorder-max-hold-ms", "60000"], check_reorder),
            ("a lone held datagram is released", ["--reorder", "1", "--reorder-max-hold-ms", "300"],
             check_hold_released),
            ("rebind on SIGUSR2; old upstream ports are dead", ["--rebind-on-signal"], check_rebind_on_signal),
            ("rebind every 0.3 s", ["--rebind-every", "0.3"], check_rebind_every),
            ("blackout 1 s for 1 s", ["--blackout", "1:1"], check_blackout),
            ("client source ports: hops followed and listed once",
             ["--blackout", "2:3"], check_client_ports),
            ("blackout on SIGUSR1", ["--blackout-on-signal", "3"], check_signal_blackout),
        ]
        for name, extra, fn in cases:
            r = None
            t = time.monotonic()
            try:
                r = RelayProc(args.relay, tmp, *extra)
                fn(r)
                print(f"ok    {name} ({time.monotonic() - t:.1f} s)")
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
