#!/usr/bin/env python3
"""Hostile datagrams at a live mosh2-server: garbage, truncated, forged (one bit
flipped), oversize, reflected (the server's own datagrams sent back) and replayed
client datagrams, all from a stranger's socket on 127.0.0.1, in the middle of a
session. Checks, through the server's status file (mosh2-status), that each one was
dropped and counted under the reason the datagram layer documents, that replays moved
neither the session's state nor the server's idea of where the client is, and that the
session carries on: typing still works and both ends exit cleanly.

The kernel may drop datagrams before the server reads them when its receive buffer is
full (a busy machine). It counts those per socket (the "drops" column of
/proc/net/udp), so the test knows how many of its datagrams may never have reached the
server, K, and every count must lie between "sent" minus K and "sent": exact when K is
0, as it usually is.

The client reaches the server through the test relay, whose capture supplies real
datagrams to truncate, forge, reflect and replay.

Usage: hostile_datagrams.py --build DIR [--client mosh2|stock]
Exits 0 on success, 1 with a reason. Every wait is bounded."""

import argparse
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time

from interop import Failure, Tmux, expect_clean_exit, need, start_relay, start_server, tear_down, udp_sockets, wait_for

MIN_DATAGRAM = 24       # 8-byte nonce + 16-byte tag
RECEIVE_BUFFER = 2048   # larger datagrams arrive truncated
TO_CLIENT_BIT = 0x80    # top bit of the first (big-endian) nonce byte


def expected_reason(datagram):
    """The drop reason the datagram layer gives a datagram that is not authentic,
    checked in its documented order: size, then direction, then the tag."""
    if len(datagram) < MIN_DATAGRAM:
        return "too_short"
    if len(datagram) > RECEIVE_BUFFER:
        return "oversize"
    if datagram[0] & TO_CLIENT_BIT:
        return "wrong_direction"
    return "bad_tag"


def read_capture(path):
    out = {"c2s": [], "s2c": []}
    with open(path, encoding="ascii") as f:
        for line in f:
            if line.endswith("\n"):
                d = json.loads(line)
                out[d["dir"]].append(bytes.fromhex(d["hex"]))
    return out


def server_status(build, status_dir, pid):
    proc = subprocess.run([os.path.join(build, "tools", "mosh2-status"), "--json", "--dir", status_dir, "--pid", str(pid)],
                          capture_output=True, text=True, timeout=10)
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout)["sessions"][0]


def hostile_set(capture, rng):
    """(name, datagram) pairs; replays are authentic and listed separately."""
    c2s, s2c = capture["c2s"], capture["s2c"]
    if len(c2s) < 5 or len(s2c) < 5:
        raise Failure(f"too little traffic captured to attack with ({len(c2s)} c2s, {len(s2c)} s2c)")
    attacks = []
    for _ in range(120):
        attacks.append(("garbage", rng.randbytes(rng.choice([0, 1, 8, 23, 24, 25, 40, 100, 500, 1400]))))
    for _ in range(60):
        d = rng.choice(c2s)
        attacks.append(("truncated", d[:rng.randrange(0, len(d))]))
    for _ in range(60):
        d = bytearray(rng.choice(c2s))
        i = rng.randrange(8, len(d))  # past the clear nonce: the ciphertext or the tag
        d[i] ^= 1 << rng.randrange(8)
        attacks.append(("forged", bytes(d)))
    for _ in range(10):
        attacks.append(("oversize", rng.randbytes(3000)))
    for _ in range(30):
        attacks.append(("reflected", rng.choice(s2c)))
    rng.shuffle(attacks)
    replays = [rng.choice(c2s) for _ in range(50)]
    return attacks, replays


def kernel_drops(port):
    """Datagrams the kernel dropped on the way into the UDP socket bound to `port` (its
    receive buffer was full), from the "drops" column of /proc/net/udp."""
    inodes = {inode for _, inode in udp_sockets(port)}
    with open("/proc/net/udp") as f:
        rows = [line.split() for line in f.read().splitlines()[1:]]
    found = [int(r[12]) for r in rows if int(r[9]) in inodes]
    if len(found) != 1:
        raise Failure(f"expected one UDP socket on port {port} in /proc/net/udp, found {len(found)}")
    return found[0]


def send_paced(sock, target, datagrams):
    # Bursts of 20 keep the server's receive buffer from overflowing, which would lose
    # datagrams before they could be counted.
    for i in range(0, len(datagrams), 20):
        for d in datagrams[i:i + 20]:
            sock.sendto(d, target)
        time.sleep(0.02)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--client", choices=["stock", "mosh2"], default="mosh2")
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=20261122)
    args = ap.parse_args()

    need("tmux")
    rng = random.Random(args.seed)
    home = tempfile.mkdtemp(prefix="mosh2-hostile-")
    status_dir = os.path.join(home, "status")
    capture_path = os.path.join(home, "capture.jsonl")
    env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="xterm-256color", HOME=home,
               SHELL="/bin/sh", PS1="$ ", MOSH2_STATUS_DIR=status_dir)
    tmux = Tmux(80, 24)
    relay = None
    server_pid = None
    try:
        port, key, server_pid = start_server("mosh2", args.build, env)
        relay, relay_port = start_relay("127.0.0.1", port, ["--capture", capture_path])
        client = need("mosh-client") if args.client == "stock" else os.path.join(args.build, "tools", "mosh2-client")
        exit_file = os.path.join(home, "client-exit")
        tmux.start(f"env MOSH_KEY={key} MOSH2_STATUS_DIR={status_dir} {client} 127.0.0.1 {relay_port}; "
                   f"echo $? > {exit_file}")
        wait_for("the shell prompt", lambda: re.search(r"^[$#]( |$)", tmux.screen(), re.M), args.timeout)
        for n in range(3):  # traffic for the capture to supply
            tmux.keys(f"echo warm-{n}", "Enter")
            time.sleep(0.2)
        tmux.keys("echo before-$((6*7))", "Enter")
        wait_for("output before the attack", lambda: re.search(r"^before-42\s*$", tmux.screen(), re.M), args.timeout)

        before = wait_for("the server's status file", lambda: server_status(args.build, status_dir, server_pid),
                          args.timeout)
        if before["datagrams"]["dropped"]["total"] != 0:
            raise Failure(f"drops before any attack: {before['datagrams']['dropped']}")

        attacks, replays = hostile_set(read_capture(capture_path), rng)
        expected = {}
        for _, d in attacks:
            reason = expected_reason(d)
            expected[reason] = expected.get(reason, 0) + 1
        drops_before = kernel_drops(port)
        stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        stranger.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        stranger.bind(("127.0.0.1", 0))
        send_paced(stranger, ("127.0.0.1", port), [d for _, d in attacks])
        send_paced(stranger, ("127.0.0.1", port), replays)
        stranger.close()

        # The session goes on, and its next status shows every drop.
        tmux.keys("echo after-$((40+2))", "Enter")
        wait_for("output after the attack", lambda: re.search(r"^after-42\s*$", tmux.screen(), re.M), args.timeout)

        # Everything was sent before the command above was typed, and the server reads its
        # socket in order: by now the kernel has either queued or dropped each datagram.
        lost = kernel_drops(port) - drops_before

        def counted():
            s = server_status(args.build, status_dir, server_pid)
            dropped = s and s["datagrams"]["dropped"]
            return s if dropped and dropped["total"] >= len(attacks) - lost else None

        after = wait_for("the status to count the attack", counted, args.timeout)
        time.sleep(1.5)  # one more status interval: nothing else may trickle in
        after = server_status(args.build, status_dir, server_pid)
        dropped = after["datagrams"]["dropped"]
        ooo = after["datagrams"]["out_of_order"] - before["datagrams"]["out_of_order"]
        print(f"the kernel dropped {lost} datagrams on the server's socket (receive buffer full)")
        problems = []
        for reason in ("too_short", "oversize", "wrong_direction", "bad_tag", "short_plaintext", "undecodable"):
            sent = expected.get(reason, 0)
            if not sent - lost <= dropped[reason] <= sent:
                problems.append(f"{reason}: counted {dropped[reason]}, sent {sent}")
        if not len(attacks) - lost <= dropped["total"] <= len(attacks):
            problems.append(f"total dropped {dropped['total']}, sent {len(attacks)}")
        if not len(replays) - lost <= ooo <= len(replays):
            problems.append(f"{len(replays)} replays sent, {ooo} counted as out of order")
        if dropped["total"] + ooo < len(attacks) + len(replays) - lost:
            problems.append(f"{dropped['total']} dropped and {ooo} out of order, but only {lost} of the "
                            f"{len(attacks) + len(replays)} sent were lost by the kernel")
        if problems:
            raise Failure("; ".join(problems) + f" (all counts {dropped}, expected {expected}, "
                          f"{lost} lost by the kernel)")
        if after["peer"] is None or after["peer"]["port"] == 0 or after["peer"]["address"] != "127.0.0.1":
            raise Failure(f"server lost its client: peer {after['peer']}")
        if after["peer"]["port"] != before["peer"]["port"]:
            raise Failure(f"a replay moved the server to {after['peer']} (was {before['peer']})")
        print(f"counted: {dropped}; replays out of order: {ooo}; peer kept at port {after['peer']['port']}")

        tmux.keys("exit", "Enter")
        expect_clean_exit(tmux, "the client", exit_file, server_pid, args.timeout)
        if os.path.exists(os.path.join(status_dir, f"{server_pid}.json")):
            raise Failure("the server left its status file behind")
        print(f"ok: {len(attacks)} hostile and {len(replays)} replayed datagrams at a live mosh2-server "
              f"({args.client} client)")
        return 0
    except Failure as e:
        print(f"FAIL: {e}")
        print("screen:\n" + tmux.screen())
        return 1
    finally:
        tear_down(tmux, relay, server_pid, home)


if __name__ == "__main__":
    sys.exit(main())
