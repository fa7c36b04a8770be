#!/usr/bin/env python3
"""A UDP relay for tests: sits between one client and one server on loopback and can
delay, drop, duplicate, reorder and black out datagrams, change the source port it uses
towards the server (to simulate a roaming client), and capture what it receives.

    client  --->  [listen socket] relay [upstream socket(s)]  --->  server
            <---                                               <---

* The relay learns the client's address from the first datagram on its listen socket and
  follows the newest client address after that (checked on every datagram, blackout or
  not), as a Mosh server does. Datagrams from the server that arrive before any client
  is known are dropped (counted). The stats list every distinct client source port with
  the time it was first seen, so a test can see a client hop ports.
* Upstream sockets: one at start; a new one (new ephemeral source port) every S seconds
  with --rebind-every S, and on each SIGUSR2 with --rebind-on-signal. Only the newest one
  talks to the server, both ways: what the server sends to an older port is dropped and
  counted (s2c "dropped_stale_upstream"), as after a NAT rebinding, so a server that does
  not follow the client's new address loses it. Old sockets stay open (at most 10, oldest
  closed first) only so that those datagrams are counted rather than refused.
* Order of processing for every received datagram: capture (the original bytes, before
  any impairment) -> blackout -> old upstream port -> loss -> duplication -> delay +
  jitter -> reorder.
* Impairment options take either one value for both directions or `C2S:S2C`, e.g.
  `--loss 0.2` or `--loss 0.2:0` (client->server loses 20 %, server->client nothing).
* --capture records what the relay RECEIVED (originals, before impairment); --deliveries
  records what it sent on (index into the capture, direction, time, the delay drawn for
  it), so the two together show every loss, duplicate and reordering.
* On stdout: exactly `RELAY PORT <n>` (flushed) once the listen socket is bound.
  With --verbose, events go to stderr.
* --blackout-on-signal S: each SIGUSR1 starts a blackout of S seconds from that moment,
  so a test can black out a session once it is set up, whatever the time since start.
* Bounded: exits after --duration seconds (default 300), on SIGTERM/SIGINT/SIGHUP, and
  writes --stats (JSON) on the way out. Before it exits, it forwards what is already
  queued on its sockets and everything it still holds (delayed or held back), at once,
  so that a test can count exactly what went through. Exit status 0, or 2 on bad arguments.
* --stats: per direction, received / forwarded / dropped (by reason) / duplicated /
  reordered; the upstream ports in order with when each opened; every blackout window
  (given or signalled) and, per window, how many datagrams it dropped each way; and
  "t0_monotonic", the relay's time zero on CLOCK_MONOTONIC (Python's time.monotonic()),
  so a test can place its own actions (keystrokes) on the relay's timeline. The file is
  rewritten every 0.25 s while the relay runs (renamed into place), so a test can follow
  it, and a last time on exit. The counts also go to stderr as one "RELAY STATS {...}"
  line on exit.

Python 3 standard library only.
"""

import argparse
import heapq
import json
import os
import random
import selectors
import signal
import socket
import sys
import time

MAX_DATAGRAM = 65535
MAX_UPSTREAM_SOCKETS = 10
STATS_INTERVAL = 0.25  # seconds between rewrites of --stats while the relay runs
DIRS = ("c2s", "s2c")


def parse_hostport(text):
    """'127.0.0.1:5000', '[::1]:5000' or '::1:5000' -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port_n = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad port in {text!r}") from None
    if not 0 <= port_n <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range in {text!r}")
    return host, port_n


def per_direction(kind, lo, hi):
    """Parses 'X' (both directions) or 'C2S:S2C' into {'c2s': x, 's2c': y}."""

    def parse(text):
        parts = text.split(":")
        if len(parts) not in (1, 2):
            raise argparse.ArgumentTypeError(f"expected X or C2S:S2C, got {text!r}")
        try:
            values = [kind(p) for p in parts]
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad number in {text!r}") from None
        for v in values:
            if not lo <= v <= hi:
                raise argparse.ArgumentTypeError(f"{v} outside [{lo}, {hi}]")
        if len(values) == 1:
            values.append(values[0])
        return dict(zip(DIRS, values))

    return parse


def parse_blackout(text):
    start, sep, length = text.partition(":")
    try:
        s, d = float(start), float(length)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected START:DURATION, got {text!r}") from None
    if not sep or s < 0 or d <= 0:
        raise argparse.ArgumentTypeError(f"expected START:DURATION (seconds), got {text!r}")
    return (s, s + d)


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--listen", type=parse_hostport, default=("127.0.0.1", 0),
                   help="HOST:PORT the client sends to (port 0 = pick one); default 127.0.0.1:0")
    p.add_argument("--server", type=parse_hostport, required=True, help="HOST:PORT of the server")
    p.add_argument("--delay-ms", type=per_direction(float, 0, 60000), default="0",
                   help="fixed one-way delay, ms (X or C2S:S2C)")
    p.add_argument("--jitter-ms", type=per_direction(float, 0, 60000), default="0",
                   help="extra delay drawn uniformly from [0, J] ms per datagram (X or C2S:S2C)")
    p.add_argument("--loss", type=per_direction(float, 0, 1), default="0",
                   help="drop probability 0..1 (X or C2S:S2C)")
    p.add_argument("--dup", type=per_direction(float, 0, 1), default="0",
                   help="probability of sending a datagram twice (X or C2S:S2C)")
    p.add_argument("--reorder", type=per_direction(float, 0, 1), default="0",
                   help="probability of holding a datagram back until the next one in the "
                        "same direction has been sent (X or C2S:S2C)")
    p.add_argument("--reorder-max-hold-ms", type=float, default=500.0,
                   help="a held datagram is released after this long even if nothing follows")
    p.add_argument("--rebind-every", type=float, default=0.0, metavar="S",
                   help="open a new upstream socket (new source port) every S seconds")
    p.add_argument("--blackout", type=parse_blackout, action="append", default=[],
                   metavar="START:DURATION",
                   help="drop everything in both directions during [START, START+DURATION) "
                        "seconds since start; repeatable")
    p.add_argument("--rebind-on-signal", action="store_true",
                   help="each SIGUSR2 opens a new upstream socket (a roam the test controls)")
    p.add_argument("--blackout-on-signal", type=float, default=0.0, metavar="S",
                   help="each SIGUSR1 starts a blackout of S seconds (both directions) from then")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    p.add_argument("--capture", metavar="FILE",
                   help='JSON lines {"dir","t_ms","hex"} of every datagram received')
    p.add_argument("--deliveries", metavar="FILE",
                   help='JSON lines {"n","dir","t_ms","delay_ms"}: every datagram the relay sent '
                        'on, in order, n = its 0-based index among the datagrams received (the '
                        '--capture line number), delay_ms the delay drawn for it; shows the '
                        'losses, duplicates and reordering')
    p.add_argument("--stats", metavar="FILE", help="JSON counts per direction, written at exit")
    p.add_argument("--duration", type=float, default=300.0, metavar="S",
                   help="hard lifetime in seconds (default 300)")
    p.add_argument("--verbose", action="store_true", help="log events on stderr")
    return p


class Relay:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.t0 = time.monotonic()
        self.sel = selectors.DefaultSelector()
        self.stop = False
        self.events = []  # heap of (due, order, callable)
        self.order = 0
        self.client_addr = None
        self.held = {d: None for d in DIRS}  # per direction: (payload, dest-fn) held back
        self.stats = {d: {"received": 0, "forwarded": 0, "dropped": 0, "dropped_loss": 0,
                          "dropped_blackout": 0, "dropped_no_peer": 0,
                          "dropped_stale_upstream": 0, "duplicated": 0,
                          "reordered": 0, "send_errors": 0}
                      for d in DIRS}
        # client_addresses counts changes of the client's address (A, B, A = 3);
        # client_ports lists each distinct source port once, in the order first seen.
        # upstream_ports[i] was opened at upstream_opened_ms[i]. blackouts lists every
        # window, given or signalled: [start_ms, end_ms, c2s dropped, s2c dropped].
        self.stats_extra = {"rebinds": 0, "client_addresses": 0, "client_ports": [],
                            "upstream_ports": [], "upstream_opened_ms": [],
                            "signal_blackouts": [], "t0_monotonic": self.t0}
        self.signal_blackouts = []  # (start, end) in seconds since start
        self.pending_signal_blackout = False
        self.pending_rebind = False
        self.window_drops = {}  # (start, end) -> {"c2s": n, "s2c": n}
        self.capture = open(args.capture, "w", encoding="ascii") if args.capture else None
        self.deliveries = (open(args.deliveries, "w", encoding="ascii")
                           if args.deliveries else None)
        self.received_count = 0

        server_host, server_port = args.server
        info = socket.getaddrinfo(server_host, server_port, 0, socket.SOCK_DGRAM, 0,
                                  socket.AI_NUMERICHOST)[0]
        self.server_family, self.server_addr = info[0], info[4]

        lhost, lport = args.listen
        linfo = socket.getaddrinfo(lhost, lport, 0, socket.SOCK_DGRAM, 0,
                                   socket.AI_NUMERICHOST | socket.AI_PASSIVE)[0]
        self.listen = socket.socket(linfo[0], socket.SOCK_DGRAM)
        self.listen.bind(linfo[4])
        self.listen.setblocking(False)
        self.sel.register(self.listen, selectors.EVENT_READ, "listen")
        self.listen_port = self.listen.getsockname()[1]

        self.upstream = []  # oldest first; the last one is used for sending
        self.new_upstream()
        self.next_rebind = (self.t0 + args.rebind_every) if args.rebind_every > 0 else None
        self.next_stats = self.t0 if args.stats else float("inf")

        # SIGTERM and friends: set a flag and wake the selector through a self-pipe.
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.wake_w.setblocking(False)
        self.sel.register(self.wake_r, selectors.EVENT_READ, "wake")
        signal.set_wakeup_fd(self.wake_w.fileno(), warn_on_full_buffer=False)
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, self.on_signal)
        signal.signal(signal.SIGUSR1, self.on_usr1)
        signal.signal(signal.SIGUSR2, self.on_usr2)

    def log(self, msg):
        if self.args.verbose:
            print(f"relay {self.now_ms():9.1f} ms: {msg}", file=sys.stderr, flush=True)

    def on_signal(self, signum, _frame):
        self.stop = True

    def on_usr1(self, _signum, _frame):
        # Only a flag here: the main loop starts the blackout (and logs it).
        self.pending_signal_blackout = True

    def on_usr2(self, _signum, _frame):
        self.pending_rebind = True

    def signal_rebind(self):
        self.pending_rebind = False
        if not self.args.rebind_on_signal:
            self.log("SIGUSR2 ignored: no --rebind-on-signal")
            return
        self.new_upstream()
        self.stats_extra["rebinds"] += 1

    def start_signal_blackout(self):
        self.pending_signal_blackout = False
        if self.args.blackout_on_signal <= 0:
            self.log("SIGUSR1 ignored: no --blackout-on-signal")
            return
        start = time.monotonic() - self.t0
        end = start + self.args.blackout_on_signal
        self.signal_blackouts.append((start, end))
        # Rounded as the capture's t_ms is, so that the two compare exactly.
        self.stats_extra["signal_blackouts"].append([round(start * 1000, 3), round(end * 1000, 3)])
        self.log(f"blackout on signal until {end * 1000:.1f} ms")

    def now_ms(self):
        return (time.monotonic() - self.t0) * 1000.0

    def new_upstream(self):
        s = socket.socket(self.server_family, socket.SOCK_DGRAM)
        # Same family and interface as the server (the tests only use loopback).
        s.bind((self.server_addr[0], 0) + self.server_addr[2:])
        s.setblocking(False)
        self.sel.register(s, selectors.EVENT_READ, "upstream")
        self.upstream.append(s)
        port = s.getsockname()[1]
        self.stats_extra["upstream_ports"].append(port)
        self.stats_extra["upstream_opened_ms"].append(round(self.now_ms(), 1))
        self.log(f"upstream source port {port}")
        while len(self.upstream) > MAX_UPSTREAM_SOCKETS:
            old = self.upstream.pop(0)
            self.sel.unregister(old)
            old.close()

    def schedule(self, due, fn):
        self.order += 1
        heapq.heappush(self.events, (due, self.order, fn))

    def blackout_at(self, t_s):
        """The blackout window covering t_s (seconds since start), or None."""
        for window in self.args.blackout + self.signal_blackouts:
            if window[0] <= t_s < window[1]:
                return window
        return None

    def send(self, direction, n, payload, delay_ms):
        if direction == "c2s":
            sock, dest = self.upstream[-1], self.server_addr
        else:
            sock, dest = self.listen, self.client_addr
        try:
            sock.sendto(payload, dest)
            self.stats[direction]["forwarded"] += 1
            if self.deliveries:
                self.deliveries.write(json.dumps({"n": n, "dir": direction, "t_ms": round(self.now_ms(), 3),
                                                  "delay_ms": round(delay_ms, 3)}) + "\n")
                self.deliveries.flush()
        except OSError as e:
            self.stats[direction]["send_errors"] += 1
            self.log(f"{direction} send error: {e}")

    def release(self, direction, n, payload, delay_ms):
        """Called when a datagram's delay has elapsed: apply reordering, then send."""
        held = self.held[direction]
        if held is None and self.rng.random() < self.args.reorder[direction]:
            token = object()
            self.held[direction] = (n, payload, token, delay_ms)
            self.stats[direction]["reordered"] += 1
            self.schedule(time.monotonic() + self.args.reorder_max_hold_ms / 1000.0,
                          lambda: self.flush_held(direction, token))
            return
        self.send(direction, n, payload, delay_ms)
        if held is not None:
            self.held[direction] = None
            self.send(direction, held[0], held[1], held[3])

    def flush_held(self, direction, token):
        held = self.held[direction]
        if held is not None and held[2] is token:
            self.held[direction] = None
            self.send(direction, held[0], held[1], held[3])

    def received(self, direction, payload, src, stale=False):
        # A signal takes effect before any datagram the relay reads after it arrived
        # (CPython runs the handler on entry to this function), so a test can signal
        # and then send, and know which side of the change each datagram falls on.
        if self.pending_signal_blackout:
            self.start_signal_blackout()
        if self.pending_rebind:
            self.signal_rebind()
        st = self.stats[direction]
        st["received"] += 1
        n = self.received_count
        self.received_count += 1
        t_ms = self.now_ms()
        if self.capture:
            self.capture.write(json.dumps({"dir": direction, "t_ms": round(t_ms, 3),
                                           "hex": payload.hex()}) + "\n")
            self.capture.flush()
        if direction == "c2s" and src != self.client_addr:
            self.log(f"client address now {src}")
            self.client_addr = src
            self.stats_extra["client_addresses"] += 1
            if all(p["port"] != src[1] for p in self.stats_extra["client_ports"]):
                self.stats_extra["client_ports"].append({"port": src[1], "first_seen_ms": round(t_ms, 1)})
        if direction == "s2c" and self.client_addr is None:
            st["dropped"] += 1
            st["dropped_no_peer"] += 1
            return
        window = self.blackout_at(t_ms / 1000.0)
        if window is not None:
            st["dropped"] += 1
            st["dropped_blackout"] += 1
            drops = self.window_drops.setdefault(window, {d: 0 for d in DIRS})
            drops[direction] += 1
            return
        if stale:
            # Sent to a port the client has left: lost, as behind a NAT that rebound.
            st["dropped"] += 1
            st["dropped_stale_upstream"] += 1
            return
        if self.rng.random() < self.args.loss[direction]:
            st["dropped"] += 1
            st["dropped_loss"] += 1
            return
        copies = 1
        if self.rng.random() < self.args.dup[direction]:
            copies = 2
            st["duplicated"] += 1
        for _ in range(copies):
            delay = self.args.delay_ms[direction]
            if self.args.jitter_ms[direction] > 0:
                delay += self.rng.uniform(0, self.args.jitter_ms[direction])
            if delay <= 0 and not self.events:
                self.release(direction, n, payload, delay)
            else:
                self.schedule(time.monotonic() + delay / 1000.0,
                              lambda p=payload, d=delay: self.release(direction, n, p, d))

    def drain(self, sock, direction):
        for _ in range(256):  # bounded per wake-up
            try:
                payload, src = sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:  # e.g. ECONNREFUSED from an ICMP error: ignore
                self.log(f"{direction} receive error: {e}")
                return
            if direction == "s2c" and src != self.server_addr:
                # Keep the relay honest: only the configured server talks upstream.
                continue
            self.received(direction, payload, src, stale=direction == "s2c" and sock is not self.upstream[-1])

    def run(self):
        print(f"RELAY PORT {self.listen_port}", flush=True)
        deadline = self.t0 + self.args.duration
        while not self.stop:
            now = time.monotonic()
            if now >= deadline:
                self.log("duration reached")
                break
            if self.pending_signal_blackout:
                self.start_signal_blackout()
            if self.pending_rebind:
                self.signal_rebind()
            if self.next_rebind is not None and now >= self.next_rebind:
                self.new_upstream()
                self.stats_extra["rebinds"] += 1
                self.next_rebind += self.args.rebind_every
            while self.events and self.events[0][0] <= now:
                _, _, fn = heapq.heappop(self.events)
                fn()
            if self.args.stats and now >= self.next_stats:
                self.write_stats()
                self.next_stats = now + STATS_INTERVAL
            timeout = min(deadline, self.next_stats) - now
            if self.events:
                timeout = min(timeout, self.events[0][0] - now)
            if self.next_rebind is not None:
                timeout = min(timeout, self.next_rebind - now)
            ready = self.sel.select(max(0.0, timeout))
            if self.pending_signal_blackout:  # before the datagrams that came with it
                self.start_signal_blackout()
            if self.pending_rebind:
                self.signal_rebind()
            for key, _ in ready:
                if key.data == "listen":
                    self.drain(key.fileobj, "c2s")
                elif key.data == "upstream":
                    self.drain(key.fileobj, "s2c")
                else:
                    try:
                        while self.wake_r.recv(64):
                            pass
                    except (BlockingIOError, InterruptedError):
                        pass
        self.finish()

    def write_stats(self):
        """The --stats document, written (to a temporary name, then renamed, so a reader
        never sees half of it) when asked for; also returned."""
        blackouts = []
        for window in sorted(set(self.args.blackout + self.signal_blackouts)):
            drops = self.window_drops.get(window, {d: 0 for d in DIRS})
            blackouts.append([round(window[0] * 1000, 3), round(window[1] * 1000, 3), drops["c2s"], drops["s2c"]])
        out = {"seed": self.args.seed, "listen_port": self.listen_port,
               "duration_ms": round(self.now_ms(), 1), **self.stats, **self.stats_extra, "blackouts": blackouts}
        if self.args.stats:
            tmp = self.args.stats + ".tmp"
            with open(tmp, "w", encoding="ascii") as f:
                json.dump(out, f, indent=1)
                f.write("\n")
            os.replace(tmp, self.args.stats)
        return out

    def finish(self):
        # What was already sent to the relay still goes through it, at once: so a test
        # can send, stop the relay and then count exactly what was delivered, without
        # guessing how long the relay needs (the kernel queued every datagram before
        # the sender's sendto returned). Bounded: one pass over each socket.
        for sock, direction in [(self.listen, "c2s")] + [(u, "s2c") for u in self.upstream]:
            self.drain(sock, direction)
        for _ in range(100000):
            if not self.events:
                break
            _, _, fn = heapq.heappop(self.events)
            fn()
        for direction in DIRS:
            held = self.held[direction]
            if held is not None:
                self.flush_held(direction, held[2])
        for f in (self.capture, self.deliveries):
            if f:
                f.close()
        out = self.write_stats()
        print("RELAY STATS " + json.dumps({d: self.stats[d] for d in DIRS} | {"rebinds": out["rebinds"],
              "blackouts": out["blackouts"]}), file=sys.stderr, flush=True)
        for s in self.upstream + [self.listen]:
            s.close()


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.duration <= 0:
        print("udp_relay: --duration must be positive", file=sys.stderr)
        return 2
    if args.rebind_every < 0:
        print("udp_relay: --rebind-every must not be negative", file=sys.stderr)
        return 2
    Relay(args).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
