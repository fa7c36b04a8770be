#!/usr/bin/env python3
"""Replayed fragments of an old screen must not stop a new one (issue 10).

Anyone on the path can record the server's authentic datagrams and send them to the
client again later. They decrypt, and out-of-order datagrams are legal, so they reach
the client's fragment assembler. A receiver that starts over on any other instruction
id never completes a large screen if old fragments keep arriving between its fragments.

This test puts its own small relay (a thread, not test/support/udp_relay.py) between
mosh2-client and mosh2-server. Phase 1 records every server-to-client datagram while a
screenful of random text (several fragments) is drawn. Phase 2 draws a different
screenful while the relay sends REPLAYS_PER_DATAGRAM recorded datagrams to the client
before every new server datagram it forwards. The new screen must arrive intact, and
the session must still end cleanly.

Usage: replay_fragments.py --build DIR [--timeout S]
Exits 0 on success, 1 with a reason. Every wait is bounded."""

import argparse
import os
import random
import re
import selectors
import socket
import string
import sys
import tempfile
import threading
import time

from interop import Failure, Tmux, expect_clean_exit, start_server, tear_down, wait_for

WIDTH, HEIGHT = 200, 50
REPLAYS_PER_DATAGRAM = 3
FULL_FRAGMENT = 1000  # a datagram this big carries a non-final fragment of a larger instruction


class ReplayRelay(threading.Thread):
    """Forwards client <-> server on 127.0.0.1; records server datagrams, or replays them."""

    def __init__(self, server_port, seed, lifetime):
        super().__init__(daemon=True)
        self.down = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # faces the client
        self.down.bind(("127.0.0.1", 0))
        self.up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)    # faces the server
        self.up.connect(("127.0.0.1", server_port))
        self.port = self.down.getsockname()[1]
        self.rng = random.Random(seed)
        self.deadline = time.monotonic() + lifetime
        self.lock = threading.Lock()
        self.mode = "record"
        self.recorded = []
        self.forwarded_while_replaying = 0
        self.replayed = 0
        self.stopping = False
        self.client = None

    def set_mode(self, mode):
        with self.lock:
            self.mode = mode

    def run(self):
        sel = selectors.DefaultSelector()
        sel.register(self.down, selectors.EVENT_READ)
        sel.register(self.up, selectors.EVENT_READ)
        while not self.stopping and time.monotonic() < self.deadline:
            for key, _ in sel.select(timeout=0.1):
                try:
                    data, addr = key.fileobj.recvfrom(65536)
                except OSError:
                    continue
                if key.fileobj is self.down:
                    self.client = addr
                    self.up.send(data)
                elif self.client is not None:
                    self.to_client(data)
        sel.close()

    def to_client(self, data):
        with self.lock:
            mode = self.mode
            if mode == "record":
                self.recorded.append(data)
            elif mode == "replay":
                old = [d for d in self.recorded if len(d) >= FULL_FRAGMENT] or self.recorded
                for _ in range(REPLAYS_PER_DATAGRAM):
                    self.down.sendto(self.rng.choice(old), self.client)
                    self.replayed += 1
                self.forwarded_while_replaying += 1
        self.down.sendto(data, self.client)

    def stop(self):
        self.stopping = True
        self.join(timeout=5)
        self.down.close()
        self.up.close()


def random_screen(rng, tag):
    alphabet = string.ascii_letters + string.digits
    return [f"{tag}{n:02d}" + "".join(rng.choice(alphabet) for _ in range(WIDTH - 10)) for n in range(HEIGHT - 4)]


def draw(tmux, home, name, lines, timeout):
    path = os.path.join(home, name)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    tmux.keys(f"clear; cat {path}", "Enter")

    def shown():
        screen = [l.rstrip() for l in tmux.screen().splitlines()]
        return all(l in screen for l in lines)
    wait_for(f"the screenful {name}", shown, timeout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=20261202)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    home = tempfile.mkdtemp(prefix="mosh2-replay-")
    status_dir = os.path.join(home, "status")
    env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="xterm-256color", HOME=home,
               SHELL="/bin/sh", PS1="$ ", MOSH2_STATUS_DIR=status_dir)
    tmux = Tmux(WIDTH, HEIGHT)
    relay = None
    server_pid = None
    try:
        port, key, server_pid = start_server("mosh2", args.build, env)
        relay = ReplayRelay(port, args.seed, lifetime=4 * args.timeout + 30)
        relay.start()
        client = os.path.join(args.build, "tools", "mosh2-client")
        exit_file = os.path.join(home, "client-exit")
        tmux.start(f"env MOSH_KEY={key} MOSH2_STATUS_DIR={status_dir} {client} 127.0.0.1 {relay.port}; "
                   f"echo $? > {exit_file}")
        wait_for("the shell prompt", lambda: re.search(r"^[$#]( |$)", tmux.screen(), re.M), args.timeout)

        draw(tmux, home, "old.txt", random_screen(rng, "old"), args.timeout)
        time.sleep(0.5)  # the acks and the last retransmissions of the old screen
        relay.set_mode("pass")
        big = [d for d in relay.recorded if len(d) >= FULL_FRAGMENT]
        if len(big) < 3:
            raise Failure(f"the old screen took only {len(big)} full-size datagrams; "
                          "the test needs a multi-fragment instruction to replay")
        print(f"recorded {len(relay.recorded)} server datagrams, {len(big)} of them full-size fragments")

        relay.set_mode("replay")
        new = random_screen(rng, "new")
        draw(tmux, home, "new.txt", new, args.timeout)
        relay.set_mode("pass")
        with relay.lock:
            replayed, forwarded = relay.replayed, relay.forwarded_while_replaying
        if forwarded < 3:
            raise Failure(f"only {forwarded} server datagrams passed during the new screen")
        print(f"new screen arrived intact with {replayed} replayed datagrams between "
              f"{forwarded} forwarded ones")

        tmux.keys("exit", "Enter")
        expect_clean_exit(tmux, "the client", exit_file, server_pid, args.timeout)
        print("ok: replayed old fragments did not stop a new multi-fragment screen")
        return 0
    except Failure as e:
        print(f"FAIL: {e}")
        print("screen:\n" + tmux.screen())
        return 1
    finally:
        if relay:
            relay.stop()
        tear_down(tmux, None, server_pid, home)


if __name__ == "__main__":
    sys.exit(main())
