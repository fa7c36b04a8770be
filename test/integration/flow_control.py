"""Typed input is never lost, live: a client in a tmux pane types into a program on
the server that is not reading. Three cases, against mosh2-server, with the client
given by --client (mosh2 or stock):

* --case typing: the program puts its terminal in raw mode and sleeps 8 s while 500
  pieces of 1,000 bytes are typed 20 ms apart; then it reads. Every byte must arrive,
  in order (count and SHA-256 compared). Through mosh2-server before round 2, 12,576
  of the 500,000 bytes were lost here.
* --case paste: one 6 MB paste (tmux paste-buffer) into the same sleeping program.
  Stock Mosh 1.4 loses most of it and freezes; mosh2-server must deliver it byte-exact.
  The stock client itself cannot send 6 MB (measured: it grows past 1.2 GB of memory
  and stops answering), so its cell pastes less (--paste-bytes).
* --input-limit SIZE (with paste): the server's input cap (MOSH2_INPUT_LIMIT) is set
  far below the paste, so the live session must go through the hold-back path: the
  server's status file must show client states held back while the queue was full,
  the cap it reported, and (mosh2 client) a queue never more than one client window
  (64 KiB) over the cap; and still every byte arrives.
* --case interrupt: the program puts its terminal in raw mode with ISIG still on (so the
  line discipline neither takes nor discards the typed bytes: they wait in the pty and
  in the server's queue) and sleeps for a minute without reading while 300 KB are
  typed. Once the server's status file shows a non-empty input queue, Ctrl-C is typed.
  It sits behind all that input, so only a server that delivers it at once (TIOCSIG)
  makes the program die of SIGINT before it wakes up; the program writes "SIGINT" only
  from its handler. With --server stock the same cell runs against the stock
  mosh-server, which has no such path and fails it (no status file there, so the queue
  is not checked).

The program reports through a result file (the pane's screen goes when the session
ends). Every wait is bounded. Exits 0 on success, 1 with a reason."""

import argparse
import hashlib
import json
import os
import random
import sys
import tempfile
import time

from interop import Failure, Tmux, need, start_server, tear_down, wait_for

READER = r'''
import hashlib, os, signal, sys, termios, time, tty
mode, sleep_s, expect, result = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
if mode == "raw":
    tty.setraw(0)
else:
    # Raw, so nothing typed is consumed by canonical line editing, but with ISIG on, so
    # the line discipline turns a VINTR it reads into SIGINT.
    tty.setraw(0)
    attrs = termios.tcgetattr(0)
    attrs[3] |= termios.ISIG
    termios.tcsetattr(0, termios.TCSANOW, attrs)
    signal.signal(signal.SIGINT, lambda *a: (open(result, "w").write("SIGINT\n"), os._exit(3)))
open(result + ".ready", "w").write("ready\n")
time.sleep(sleep_s)
h, n, deadline = hashlib.sha256(), 0, time.monotonic() + 120
while n < expect and time.monotonic() < deadline:
    chunk = os.read(0, 65536)
    if not chunk:
        break
    h.update(chunk)
    n += len(chunk)
open(result, "w").write(f"{n} {h.hexdigest()}\n")
'''


def printable(n, rng):
    # Letters and digits: tmux's send-keys reads a leading '-' or a trailing ';' itself.
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" 
    return bytes(rng.choice(alphabet) for _ in range(n))


def program_input(status_dir, server_pid):
    """The server's own account of its input queue, rewritten within 1 s of news; {}
    while there is none to read."""
    try:
        with open(os.path.join(status_dir, f"{server_pid}.json")) as f:
            return json.load(f)["program_input"] or {}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--client", choices=["stock", "mosh2"], required=True)
    ap.add_argument("--case", choices=["typing", "paste", "interrupt"], required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--paste-bytes", type=int, default=6_000_000)
    ap.add_argument("--input-limit", type=int, help="MOSH2_INPUT_LIMIT for the server, in bytes")
    ap.add_argument("--server", choices=["stock", "mosh2"], default="mosh2",
                    help="the server to run (stock: to see the interrupt cell fail without TIOCSIG)")
    args = ap.parse_args()
    need("tmux")
    home = tempfile.mkdtemp(prefix="mosh2-flow-")
    env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="xterm-256color", HOME=home,
               SHELL="/bin/sh", MOSH2_STATUS_DIR=os.path.join(home, "status"))
    if args.input_limit:
        env["MOSH2_INPUT_LIMIT"] = str(args.input_limit)
    seen = {"held_back_instructions": 0, "queued_bytes": 0, "cap_bytes": None}
    reader = os.path.join(home, "reader.py")
    open(reader, "w").write(READER)
    result = os.path.join(home, "result")
    rng = random.Random(20261202)
    if args.case == "typing":
        pieces = [printable(1000, rng) for _ in range(500)]
        data = b"".join(pieces)
        command = ["python3", reader, "raw", "8", str(len(data)), result]
    elif args.case == "paste":
        data = printable(args.paste_bytes, rng)
        command = ["python3", reader, "raw", "8", str(len(data)), result]
    else:
        pieces = [printable(1000, rng) for _ in range(300)]
        data = b"".join(pieces)
        command = ["python3", reader, "isig", "60", str(len(data)), result]

    tmux = Tmux(80, 24)
    server_pid = None
    try:
        port, key, server_pid = start_server(args.server, args.build, env, command=command)
        client = need("mosh-client") if args.client == "stock" else os.path.join(args.build, "tools", "mosh2-client")
        tmux.start(f"env MOSH_KEY={key} MOSH2_STATUS_DIR={env['MOSH2_STATUS_DIR']} {client} 127.0.0.1 {port}")
        wait_for("the program to start", lambda: os.path.exists(result + ".ready"), 20)
        started = time.monotonic()
        if args.case == "paste":
            blob = os.path.join(home, "paste")
            open(blob, "wb").write(data)
            tmux.run("load-buffer", blob)
            tmux.run("paste-buffer", "-d", check=False)
        else:
            for piece in pieces:  # 20 ms apart, as a fast typist's bursts
                tmux.run("send-keys", "-l", piece.decode())
                time.sleep(0.02)
        typed = time.monotonic() - started
        if args.case == "interrupt":
            queued = 0
            if args.server == "mosh2":
                def queue_filled():
                    nonlocal queued
                    queued = program_input(env["MOSH2_STATUS_DIR"], server_pid).get("queued_bytes", 0)
                    return queued > 0
                # Without input waiting in front of it, Ctrl-C would prove nothing.
                wait_for("the server's status file to show typed input queued for the program", queue_filled, 30)
            tmux.hex(0x03)
            interrupted = time.monotonic()
            # Bounded below the program's 60 s sleep: it writes "SIGINT" only from its
            # handler, and its byte count if it wakes up and reads instead.
            got = wait_for("the program to end", lambda: os.path.exists(result) and open(result).read().strip(), 45)
            if got != "SIGINT":
                raise Failure(f"the program ended with {got!r}, not by SIGINT")
            print(f"{args.client} client, {args.server} server: 300 KB typed in {typed:.1f} s into a program "
                  f"not reading ({queued} bytes queued in the server); Ctrl-C killed it "
                  f"{time.monotonic() - interrupted:.2f} s later (it sleeps 60 s)")
            return 0
        def sample_server():
            queue = program_input(env["MOSH2_STATUS_DIR"], server_pid)
            if not queue:
                return
            seen["held_back_instructions"] = max(seen["held_back_instructions"], queue["held_back_instructions"])
            seen["queued_bytes"] = max(seen["queued_bytes"], queue["queued_bytes"])
            seen["cap_bytes"] = queue["cap_bytes"]

        def finished():
            sample_server()
            return os.path.exists(result) and open(result).read().strip()

        got = wait_for("the program's result", finished, 180)
        n, digest = got.split()
        want = hashlib.sha256(data).hexdigest()
        if int(n) != len(data) or digest != want:
            raise Failure(f"the program read {n} bytes (sha256 {digest[:16]}), "
                          f"typed were {len(data)} (sha256 {want[:16]})")
        if args.input_limit:
            if seen["cap_bytes"] != args.input_limit:
                raise Failure(f"the server reported an input cap of {seen['cap_bytes']}, "
                              f"not MOSH2_INPUT_LIMIT={args.input_limit}")
            if seen["held_back_instructions"] == 0:
                raise Failure(f"a {len(data)}-byte paste into a program not reading never filled a "
                              f"{args.input_limit}-byte queue: the hold-back path was not exercised")
            window = 64 * 1024  # what the mosh2 client sends ahead of acknowledgements
            if args.client == "mosh2" and seen["queued_bytes"] > args.input_limit + window:
                raise Failure(f"the server queued {seen['queued_bytes']} bytes, more than the cap "
                              f"{args.input_limit} plus one client window")
        held = (f"; server held back {seen['held_back_instructions']} instructions, queue peaked at "
                f"{seen['queued_bytes']} of {seen['cap_bytes']} bytes" if args.input_limit else "")
        print(f"{args.client} client, {args.case}: all {len(data)} bytes arrived in order "
              f"({time.monotonic() - started:.1f} s; typing took {typed:.1f} s){held}")
        return 0
    except Failure as e:
        print(f"FAIL: {e}\nscreen:\n{tmux.screen()}")
        return 1
    finally:
        tear_down(tmux, None, server_pid, home)


if __name__ == "__main__":
    sys.exit(main())
