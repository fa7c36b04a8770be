#!/usr/bin/env python3
"""The server's history in the client's local terminal, live (docs/protocol.md, "History").

mosh2-client runs in a tmux pane with a large history-limit, through the test relay, to a
mosh2-server; what the pane holds (`tmux capture-pane -p -S -`: its scrollback, then its
screen) is what the user can scroll back to. One case per run (--case):

* seq: `seq 1 50000` (through 20 % loss and 100 ms delay each way with --relay-args):
  every number from 1 to 50000 is in the pane exactly once, in order.
* colour: coloured lines keep their colours in the pane's history (`capture-pane -e`).
* alternate: lines printed on the alternate screen (vim's, and a program's own
  `CSI ? 1049 h`) add nothing to the pane's history.
* overflow: with `mosh2-server new --history 100`, output that outruns the bound leaves
  a line "[mosh2: N lines skipped]" for each run of lines the client never got (the
  history keeps sending the newest 100 while more scroll past), and the pane accounts
  for every line: each number once, in order, the markers for the rest.
* no-history: `mosh2-client --no-history` asks for nothing: the session stays on the
  alternate screen, as Mosh 1.4's does, and no number reaches the pane's history.
* reattach: after `clear; seq 1 5000` the client is killed (SIGKILL), `mosh2-server
  attach PID` rotates the key, and a new mosh2-client in a fresh tmux pane (its own tmux
  server) takes over. That pane holds the newest 1,000 history lines in its scrollback
  and then the screen: the numbers up to 5000 once each, in order, exactly 1,000 of them
  in the scrollback, and no marker line (the older lines were the first client's).

Every wait is bounded (--timeout); the test fails with the pane's contents.
"""

import argparse
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop import Failure, Tmux, need, parent_pid, start_relay, stop_relay, tear_down, wait_for  # noqa: E402

NUMBER = re.compile(r"^\d+$")
MARKER = re.compile(r"^\[mosh2: ([\d,]+) lines? skipped\]$")


class PaneTmux(Tmux):
    """A pane whose history keeps far more than 50,000 lines."""

    def start(self, command):
        self.run("-f", "/dev/null", "set-option", "-g", "history-limit", "200000", ";",
                 "new-session", "-d", "-x", str(self.width), "-y", str(self.height), command)
        self.run("set-option", "-g", "status", "off")
        self.run("set-option", "-g", "remain-on-exit", "on")

    def everything(self, escapes=False):
        """The pane's scrollback and screen, oldest line first."""
        args = ["capture-pane", "-p", "-S", "-"] + (["-e"] if escapes else [])
        return self.run(*args, check=False).stdout.splitlines()

    def history_size(self):
        return int(self.run("display-message", "-p", "#{history_size}").stdout.strip() or 0)


def start_server(build, env, history):
    exe = os.path.join(build, "tools", "mosh2-server")
    extra = ["--history", str(history)] if history is not None else []
    proc = subprocess.run([exe, "new", "-p", "0", "-i", "127.0.0.1", "-l", "LANG=C.UTF-8", *extra, "--", "/bin/sh"],
                          capture_output=True, text=True, env=env, timeout=20)
    m = re.search(r"MOSH CONNECT (\d+) ([A-Za-z0-9+/]{22})", proc.stdout)
    pid = re.search(r"detached, pid = (\d+)", proc.stderr)
    if not m or not pid:
        raise Failure(f"server did not start: {proc.stdout!r} {proc.stderr!r}")
    return int(m.group(1)), m.group(2), int(pid.group(1))


def numbers(lines):
    return [int(line) for line in (x.strip() for x in lines) if NUMBER.match(line)]


def wait_done(tmux, word, timeout):
    """Until `word` stands alone at the start of a line of the screen (the command's end)."""
    wait_for(f"{word!r} on the screen", lambda: re.search(rf"^{word}\s*$", tmux.screen(), re.M), timeout)


def case_seq(tmux, args):
    tmux.keys("seq 1 50000; echo seq-done", "Enter")
    wait_done(tmux, "seq-done", args.timeout)
    # The screen came first; the history follows at a window a round trip.
    got = wait_for("every number in the pane", lambda: (lambda n: n if len(n) >= 50000 else None)(
        numbers(tmux.everything())), args.timeout)
    if got != list(range(1, 50001)):
        dupes = len(got) - len(set(got))
        missing = sorted(set(range(1, 50001)) - set(got))[:10]
        out_of_order = next((i for i in range(1, len(got)) if got[i] <= got[i - 1]), None)
        raise Failure(f"{len(got)} numbers, {dupes} repeated, missing (first ten) {missing}, "
                      f"first out of order at index {out_of_order}")
    print(f"ok: 1..50000 each once and in order; the pane's history holds {tmux.history_size()} lines")


def case_colour(tmux, args):
    tmux.keys("for i in $(seq 1 60); do printf '\\033[31mred-%d\\033[m plain \\033[1;34mblue\\033[m\\n' $i; done;"
              " seq 1 30; echo colour-done", "Enter")
    wait_done(tmux, "colour-done", args.timeout)

    def coloured():
        lines = tmux.everything(escapes=True)
        scrollback = lines[:max(0, len(lines) - tmux.height)]
        red = [x for x in scrollback if re.search(r"red-\d+\S* plain", x)]
        return red if len(red) == 60 else None
    red = wait_for("60 coloured lines in the pane's history", coloured, args.timeout)
    sgr = r"(?:\x1b\[[0-9;]*m)*"
    for n, line in enumerate(red, 1):
        # tmux writes each attribute as it likes (1;34 or 1 then 34): take them as a set.
        head = re.match(rf"^({sgr})red-{n}{sgr} plain ({sgr})blue", line)
        codes = (lambda s: set(re.findall(r"\d+", s)))
        if not head or "31" not in codes(head.group(1)) or not {"1", "34"} <= codes(head.group(2)):
            raise Failure(f"history line {n} lost its colours: {line!r}")
    print(f"ok: 60 coloured lines in the pane's history with their colours, e.g. {red[0]!r}")


def case_alternate(tmux, args):
    tmux.keys("seq 1 30; echo before-alt", "Enter")
    wait_done(tmux, "before-alt", args.timeout)
    wait_for("the first lines in the history", lambda: numbers(tmux.everything())[:7] == list(range(1, 8)),
             args.timeout)
    before = tmux.history_size()
    # A program's own alternate screen: 500 lines scroll there and must go nowhere.
    tmux.keys("printf '\\033[?1049h'; seq 1001 1500; sleep 1; printf '\\033[?1049l'; echo alt-done", "Enter")
    wait_done(tmux, "alt-done", args.timeout)
    vim = shutil.which("vim")
    if vim:
        tmux.keys(f"{vim} -u NONE -N -c 'r !seq 2001 2500' -c 'normal G' -c 'sleep 1' -c 'qa!'; echo vim-done",
                  "Enter")
        wait_done(tmux, "vim-done", args.timeout)
    tmux.keys("echo settle; sleep 2; echo alt-checked", "Enter")
    wait_done(tmux, "alt-checked", args.timeout)
    lines = tmux.everything()
    leaked = [n for n in numbers(lines) if n > 1000]
    if leaked:
        raise Failure(f"{len(leaked)} lines of the alternate screen reached the pane, e.g. {leaked[:5]}")
    if numbers(lines) != list(range(1, 31)):
        raise Failure(f"the main screen's lines changed: {numbers(lines)}")
    print(f"ok: the alternate screen{' and vim' if vim else ''} added nothing "
          f"(history {before} lines before, {tmux.history_size()} after)")


def case_overflow(tmux, args):
    # From a cleared screen, so that every line that scrolls off is a number: a marker
    # counts the lines it stands for, whatever they were.
    tmux.keys("clear; seq 1 20000; echo overflow-done", "Enter")
    wait_done(tmux, "overflow-done", args.timeout)

    def settled():
        lines = tmux.everything()
        tail = numbers(lines)
        return lines if any(MARKER.match(x.strip()) for x in lines) and tail and tail[-1] == 20000 else None
    lines = wait_for("a marker and the last number", settled, args.timeout)
    # Walking down the pane: each number is the one expected, and each marker moves the
    # expectation on by the lines it stands for; every gap has its marker.
    expect, markers, skipped = 1, 0, 0
    for x in (x.strip() for x in lines):
        m = MARKER.match(x)
        if m:
            n = int(m.group(1).replace(",", ""))
            expect, markers, skipped = expect + n, markers + 1, skipped + n
        elif NUMBER.match(x):
            if int(x) != expect:
                raise Failure(f"{x} where {expect} was due ({markers} markers so far)")
            expect += 1
    if expect != 20001:
        raise Failure(f"the pane accounts for {expect - 1} of 20000 lines")
    print(f"ok: {markers} marker lines for {skipped} lines the bound dropped; the other {20000 - skipped} "
          "once each and in order")


def case_no_history(tmux, args):
    tmux.keys("seq 1 3000; echo nohist-done", "Enter")
    wait_done(tmux, "nohist-done", args.timeout)
    got = numbers(tmux.everything())
    # The screen shows the last lines; nothing scrolled into the pane's history.
    if len(got) > tmux.height or (got and got[-1] != 3000):
        raise Failure(f"{len(got)} numbers in the pane (the screen holds {tmux.height} lines)")
    print(f"ok: --no-history: only the screen's {len(got)} numbers in the pane, none in its history")


def client_pid_in(tmux):
    """The mosh2-client process of a pane: the pane's own process or one of its children."""
    pane_pid = int(tmux.run("display-message", "-p", "#{pane_pid}").stdout.strip())
    for pid in [pane_pid] + [p for p in map(int, filter(str.isdigit, os.listdir("/proc"))) if parent_pid(p) == pane_pid]:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if f.read().split(b"\0")[0].endswith(b"mosh2-client"):
                    return pid
        except OSError:
            continue
    raise Failure(f"no mosh2-client under the pane's process {pane_pid}")


def case_reattach(tmux, args):
    ctx = args.ctx
    # From a cleared screen: the history is exactly the numbers that scrolled off.
    tmux.keys("clear; seq 1 5000; echo reattach-done", "Enter")
    wait_done(tmux, "reattach-done", args.timeout)
    wait_for("the first client's pane to hold every number",
             lambda: numbers(tmux.everything()) == list(range(1, 5001)), args.timeout)
    os.kill(client_pid_in(tmux), signal.SIGKILL)
    attach = subprocess.run([os.path.join(args.build, "tools", "mosh2-server"), "attach", str(ctx["server_pid"])],
                            capture_output=True, text=True, env=ctx["env"], timeout=20)
    m = re.search(r"MOSH CONNECT (\d+) ([A-Za-z0-9+/]{22})", attach.stdout)
    if attach.returncode != 0 or not m:
        raise Failure(f"mosh2-server attach failed ({attach.returncode}): {attach.stdout!r} {attach.stderr!r}")
    fresh = PaneTmux(tmux.width, tmux.height)
    fresh.socket += "-reattached"
    ctx["fresh"] = fresh
    fresh.start(ctx["client_command"](m.group(2), int(m.group(1))))
    wait_done(fresh, "reattach-done", args.timeout)

    def complete():
        got = numbers(fresh.everything())
        return got if got and got[-1] == 5000 and len(got) >= 1000 + 20 else None
    got = wait_for("the newest history lines and the screen in the new pane", complete, args.timeout)
    lines = fresh.everything()
    on_screen = len(numbers(fresh.screen().splitlines()))
    if any(MARKER.match(x.strip()) for x in lines):
        raise Failure("a marker line in the new pane: " + next(x for x in lines if MARKER.match(x.strip())))
    first = 5000 - on_screen - 1000 + 1
    if got != list(range(first, 5001)):
        raise Failure(f"the new pane holds {len(got)} numbers, {got[:3]}..{got[-3:]}, "
                      f"not {first}..5000 (1,000 history lines and the screen's {on_screen})")
    print(f"ok: after the attach the new pane holds {first}..5000 once each: the newest 1,000 history lines "
          f"in its scrollback ({fresh.history_size()} lines), then the screen's {on_screen}; no marker")
    fresh.keys("exit", "Enter")


CASES = {"seq": case_seq, "colour": case_colour, "alternate": case_alternate, "overflow": case_overflow,
         "no-history": case_no_history, "reattach": case_reattach}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", required=True)
    p.add_argument("--case", choices=sorted(CASES), required=True)
    p.add_argument("--history", type=int, default=None, help="mosh2-server new --history")
    p.add_argument("--relay-args", default="")
    p.add_argument("--timeout", type=float, default=60.0)
    args = p.parse_args()
    try:
        need("tmux")
    except Failure as e:
        print(f"FAIL: {e}")
        return 1
    home = tempfile.mkdtemp(prefix="mosh2-scrollback-")
    env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="xterm-256color", HOME=home, SHELL="/bin/sh",
               PS1="$ ", MOSH2_STATUS_DIR=os.path.join(home, "status"))
    tmux = PaneTmux(80, 24)
    relay = server_pid = None
    client = os.path.join(args.build, "tools", "mosh2-client")
    try:
        port, key, server_pid = start_server(args.build, env, args.history)
        relay, relay_port = start_relay("127.0.0.1", port, shlex.split(args.relay_args))
        flags = "--no-history " if args.case == "no-history" else ""

        def client_command(key, port):
            return (f"env MOSH_KEY={key} HOME={shlex.quote(home)} MOSH2_STATUS_DIR={shlex.quote(env['MOSH2_STATUS_DIR'])}"
                    f" TERM=xterm-256color {shlex.quote(client)} {flags}127.0.0.1 {port}")
        args.ctx = {"env": env, "server_pid": server_pid, "client_command": client_command}
        tmux.start(client_command(key, relay_port))
        wait_for("the shell prompt", lambda: re.search(r"^[$#]( |$)", tmux.screen(), re.M), args.timeout)
        CASES[args.case](tmux, args)
        tmux.keys("exit", "Enter")
        return 0
    except Failure as e:
        print(f"FAIL: {args.case}: {e}")
        print("screen:\n" + tmux.screen())
        return 1
    finally:
        fresh = getattr(args, "ctx", {}).get("fresh")
        if fresh:
            fresh.kill()
        tear_down(tmux, relay, server_pid, home)


if __name__ == "__main__":
    sys.exit(main())
