#!/usr/bin/env python3
"""Predictive local echo, live: a client in a tmux pane reaches a server through the
test relay, which delays every datagram by --delay-ms each way (400 ms: an 800 ms
round trip, so the send interval is at its 250 ms cap and predictions are both shown
and underlined, §10.4). The test types the first key of a word and waits for the
server's echo (that confirms the prediction epoch), then types the rest of the word and
watches the pane:

* --expect shown: the rest of the word is on screen, underlined, before the server's
  echo could have reached the client: earlier than the first datagram the relay handed
  the client that the server sent after the relay had handed it the keys (the relay's
  --deliveries log, on the test's CLOCK_MONOTONIC; no wall-clock bound). Once the
  server's echo arrives the underline goes and the text stays. Backspace is predicted
  too, with the same check. Then Enter runs the command, whose output only the server
  can supply.
* --expect hidden (MOSH_PREDICTION_DISPLAY=never): nothing of the word appears before a
  round trip has passed; then the server's echo shows it.

A stock client against mosh2-server is the check on the server's echo_ack: the stock
client only confirms predictions the server acknowledges having echoed.

Usage: prediction.py --client mosh2|stock --server mosh2|stock --build DIR
                     [--mode adaptive|always|never|experimental] [--expect shown|hidden]
Exits 0 on success, 1 with a reason. Every wait is bounded."""

import argparse
import os
import re
import sys
import tempfile
import time

from interop import (Failure, Tmux, expect_clean_exit, need, read_deliveries, start_relay, start_server, stop_relay,
                     tear_down, wait_for)

ESC = "\x1b"


def styled_screen(tmux):
    return tmux.run("capture-pane", "-p", "-e", check=False).stdout


def command_line(screen):
    """The prompt line being typed on: the last line that starts with the prompt."""
    lines = [l.rstrip() for l in screen.splitlines() if l.rstrip() == "$" or l.startswith("$ ")]
    return lines[-1] if lines else ""


def underlined(styled_line):
    """True if some SGR on the line turns underline on (4, alone or among others)."""
    for params in re.findall(ESC + r"\[([0-9;:]*)m", styled_line):
        if "4" in params.split(";"):
            return True
    return False


def watch(tmux, want, seconds):
    """Polls the pane for up to `seconds`; returns (time from now to first sight of a
    command line equal to `want` or None, the styled line at that moment)."""
    start = time.monotonic()
    for _ in range(int(seconds / 0.01) + 1):  # bounded by count as well as time
        styled = styled_screen(tmux)
        plain = re.sub(ESC + r"\[[0-9;:?]*[A-Za-z]", "", styled)
        if command_line(plain) == want:
            line = [l for l in styled.splitlines() if re.sub(ESC + r"\[[0-9;:]*m", "", l).rstrip() == want]
            return time.monotonic() - start, (line[-1] if line else "")
        if time.monotonic() - start >= seconds:
            break
        time.sleep(0.01)
    return None, ""


def first_echo_ms(deliveries, sent_ms):
    """The relay's time (ms) of the first datagram handed to the client that the server
    can have sent in answer to keys typed at `sent_ms`: one the relay received from the
    server (delivery time minus its added delay) after handing the server the first
    client datagram sent since `sent_ms`. None when there is no such datagram."""
    c2s = [d["t_ms"] for d in deliveries if d["dir"] == "c2s" and d["t_ms"] >= sent_ms]
    if not c2s:
        return None
    keys_at_server = min(c2s)
    s2c = [d["t_ms"] for d in deliveries if d["dir"] == "s2c" and d["t_ms"] - d["delay_ms"] >= keys_at_server]
    return min(s2c) if s2c else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--client", choices=["stock", "mosh2"], required=True)
    ap.add_argument("--server", choices=["stock", "mosh2"], required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--mode", choices=["adaptive", "always", "never", "experimental"], default="adaptive")
    ap.add_argument("--expect", choices=["shown", "hidden"], default="shown")
    ap.add_argument("--delay-ms", type=int, default=400, help="one-way delay added by the relay")
    ap.add_argument("--timeout", type=float, default=30.0)
    args = ap.parse_args()
    rtt = 2 * args.delay_ms / 1000.0
    early = rtt / 2  # what "long before a round trip" means here

    try:
        need("tmux")
    except Failure as e:
        print(f"FAIL: {e}")
        return 1
    home = tempfile.mkdtemp(prefix="mosh2-predict-")
    env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="xterm-256color", HOME=home,
               SHELL="/bin/sh", PS1="$ ")
    tmux = Tmux(80, 24)
    relay = None
    server_pid = None
    pairing = f"{args.client} client <-> {args.server} server, {args.mode}"
    try:
        port, key, server_pid = start_server(args.server, args.build, env)
        stats_path = os.path.join(home, "relay-stats.json")
        deliveries_path = os.path.join(home, "relay-deliveries.jsonl")
        relay, relay_port = start_relay("127.0.0.1", port, ["--delay-ms", str(args.delay_ms), "--stats", stats_path,
                                                            "--deliveries", deliveries_path])
        local_sightings = []  # (what, keys sent, first seen), both time.monotonic()
        client = need("mosh-client") if args.client == "stock" else os.path.join(args.build, "tools", "mosh2-client")
        exit_file = os.path.join(home, "client-exit")
        tmux.start(f"env MOSH_KEY={key} MOSH_PREDICTION_DISPLAY={args.mode} HOME={home} {client} "
                   f"127.0.0.1 {relay_port}; echo $? > {exit_file}")
        wait_for("the shell prompt", lambda: command_line(tmux.screen()) == "$", args.timeout)
        time.sleep(2 * rtt)  # a few round trips: the client's SRTT settles near the relay's delay

        # The first key of a word opens an epoch that stays hidden until the server's
        # echo confirms it; from then on the epoch's keys are shown as typed.
        tmux.keys("e")
        wait_for("the server's echo of the first key", lambda: command_line(tmux.screen()) == "$ e", args.timeout)
        time.sleep(rtt)  # let the echo_ack for that key arrive too

        sent = time.monotonic()
        tmux.keys("-l", "cho pq")
        # Shown: watched until it appears (bounded); whether it came before the server's
        # echo could is decided from the relay's log afterwards. Hidden: watched for half
        # a round trip, a lower bound on when the echo can come.
        seen, line = watch(tmux, "$ echo pq", early if args.expect == "hidden" else args.timeout)
        if args.expect == "shown":
            if seen is None:
                raise Failure(f"'cho pq' never appeared on screen; pane:\n{tmux.screen()}")
            local_sightings.append(("'cho pq'", sent, sent + seen))
            if not underlined(line):
                raise Failure(f"the predicted text is not underlined at {rtt * 1000:.0f} ms round trip: {line!r}")
            print(f"{pairing}: 'cho pq' on screen {seen * 1000:.0f} ms after the keys "
                  f"(round trip {rtt * 1000:.0f} ms), underlined")
            # The server's echo confirms it: the underline goes, the text stays.
            wait_for("the confirmed text without underline",
                     lambda: (lambda s, l: s is not None and not underlined(l))(*watch(tmux, "$ echo pq", 0)),
                     args.timeout)
            confirmed = time.monotonic() - sent
            if confirmed < rtt:
                raise Failure(f"underline gone after {confirmed * 1000:.0f} ms, before a round trip: "
                              "confirmed by nothing")
            print(f"{pairing}: confirmed (underline gone) {confirmed * 1000:.0f} ms after the keys")

            # Backspace is predicted too: the last character goes at once.
            sent = time.monotonic()
            tmux.keys("BSpace")
            gone, _ = watch(tmux, "$ echo p", args.timeout)
            if gone is None:
                raise Failure(f"the backspace never showed; pane:\n{tmux.screen()}")
            local_sightings.append(("the backspace", sent, sent + gone))
            print(f"{pairing}: backspace shown {gone * 1000:.0f} ms after the key")
            wait_for("the server's echo of the backspace", lambda: command_line(tmux.screen()) == "$ echo p",
                     args.timeout)
            time.sleep(rtt)
            tmux.keys("-l", "q")
            wait_for("the word retyped", lambda: command_line(tmux.screen()) == "$ echo pq", args.timeout)
        else:
            if seen is not None:
                raise Failure(f"'cho pq' on screen {seen * 1000:.0f} ms after the keys, before a round trip, "
                              f"with MOSH_PREDICTION_DISPLAY={args.mode}")
            wait_for("the server's echo", lambda: command_line(tmux.screen()) == "$ echo pq", args.timeout)
            shown_after = time.monotonic() - sent
            if shown_after < rtt:
                raise Failure(f"echo shown after {shown_after * 1000:.0f} ms, less than a round trip")
            print(f"{pairing}: nothing shown before the server's echo, "
                  f"which came {shown_after * 1000:.0f} ms after the keys")

        # Output only the server can give: a prediction never makes it up.
        tmux.keys("Enter")
        wait_for("the command's output", lambda: re.search(r"^pq\s*$", tmux.screen(), re.M), args.timeout)

        tmux.keys("exit", "Enter")
        expect_clean_exit(tmux, "the client", exit_file, server_pid, args.timeout)
        if local_sightings:
            t0 = stop_relay(relay, stats_path)["t0_monotonic"]
            relay = None
            deliveries = read_deliveries(deliveries_path)
            for what, keys, shown in local_sightings:
                echo = first_echo_ms(deliveries, (keys - t0) * 1000)
                shown_ms = (shown - t0) * 1000
                if echo is None or shown_ms >= echo:
                    raise Failure(f"{what} was on screen at {shown_ms:.0f} ms, not before the server's echo could "
                                  f"arrive ({echo} ms on the relay's clock): not a prediction")
                print(f"{pairing}: {what} shown {echo - shown_ms:.0f} ms before the server's echo could arrive")
        print(f"ok: {pairing}, predictions {args.expect}")
        return 0
    except Failure as e:
        print(f"FAIL: {pairing}: {e}")
        print("screen:\n" + tmux.screen())
        return 1
    finally:
        tear_down(tmux, relay, server_pid, home)


if __name__ == "__main__":
    sys.exit(main())
