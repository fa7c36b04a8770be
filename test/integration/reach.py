#!/usr/bin/env python3
"""Getting through where UDP is blocked, end to end over a real sshd, in network
namespaces the test makes itself: it re-runs itself under `unshare -n` (the client's
namespace), makes the server's namespace beside it (a `unshare -n sleep` that holds it),
joins them with a veth pair (client 10.201.0.1, server 10.201.0.2), starts its own sshd
in the server's namespace (ssh_bootstrap.start_sshd under nsenter) and drops the
session's UDP port arriving on the server's veth with nftables there. The host's own
network is never touched; both namespaces go when the test's processes end.

--mode blocked-udp (--transport=udp, so no fallback):
 1. `mosh2 --udp-timeout=3s -p PORT testhost` with PORT dropped: the client shows the
    bar line "No answer on UDP port PORT" and, below it, the paragraph that names UDP
    port PORT on 10.201.0.2, says ssh to testhost worked, and what to allow. Then the
    rule is deleted: the session comes up, the paragraph is gone, a typed command runs,
    `exit` ends it with status 0.
 2. The same with the port left blocked: the client gives up, mosh2 exits non-zero and
    the paragraph is left on the terminal (stderr) after the session's screen is gone.
--mode fallback (the default --transport=auto):
    UDP blocked: the session comes up over the byte stream through ssh (the client's
    status file says transport.in_use "stream", switched for "udp-timeout"); typing and
    output work and `seq 1 100000` finishes with the prompt back. Then UDP is unblocked
    while a sequence is being typed into `cat > FILE`: the status file shows the move
    back to UDP ("udp-answered"), and FILE holds exactly what was typed, byte by byte.
    After the seq, both ends' status files show the path taken as reliable (the server
    told through the reliable_path extension) and no retransmission into it.
--mode udp-lost (auto, UDP open at first):
    the session runs over UDP; UDP is blocked while keys are typed into `cat > FILE`:
    after udp_lost_after (20 s) the client moves to the stream ("udp-lost"), the keys go
    on, FILE holds every key byte by byte, output comes back, and nothing was
    retransmitted into the stream (both status files). Then UDP is unblocked while typing
    into a second FILE: back on UDP ("udp-answered"), every key there, the server no
    longer takes its path as reliable; the status shows the three phases.

--mode stream-cut (auto, UDP blocked, on the stream):
    the stream's ssh is killed: the client starts another and the session goes on.
    Then the client's key is taken out of authorized_keys and the ssh killed again: the
    client cannot start the stream again and exits non-zero with one line that says ssh
    could not log in without asking, naming the UDP port that does not answer.

--mode relay (no ssh): three namespaces, client -- jump -- server, the jump not routing.
    `mosh2-server relay` on the jump forwards a session between mosh2-client and
    mosh2-server (no key in its argv); a second relay on its port exits 1 with one line;
    the client's address changes (roam) and the session goes on; the client stopped for
    longer than the relay's idle timeout does not end the relay; after `exit` the relay
    exits 0 once the server has been silent for its idle timeout.
--mode jump: the same three namespaces with an sshd on the jump and one on the server:
    `mosh2 -J jumphost testhost` starts the server through `ssh -J` and a relay on the
    jump over ssh; the session runs (the shell's $SSH_CONNECTION comes from the jump),
    the client sends to the relay, `exit` ends it with 0; the same with `ProxyJump
    jumphost` in the ssh configuration instead of -J; a -J to an address where no jump
    answers: non-zero with one line. Then four namespaces (two jumps, an sshd on each):
    `mosh2 -J jump1,jump2 testhost` runs through a relay on each jump.

Usage: reach.py --build DIR --mode blocked-udp|fallback|stream-cut|udp-lost|relay|jump
Exits 0 on success, 1 with a reason. Every wait is bounded; sshd, tmux and the servers
started in the namespaces are killed whatever happens."""

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from interop import Failure, Tmux, alive, need, wait_for
from ssh_bootstrap import start_sshd, stop_sshd

TABLE = "mosh2_reach"
CLIENT_IP, SERVER_IP = "10.201.0.1", "10.201.0.2"


class Net:
    """The server's namespace beside ours, joined by a veth pair."""

    def __init__(self):
        self.holder = subprocess.Popen([need("unshare"), "-n", "sleep", "600"], stdin=subprocess.DEVNULL)
        mine = os.readlink("/proc/self/ns/net")
        wait_for("the server's namespace", lambda: self.ns() not in (None, mine), 10)
        self.prefix = [need("nsenter"), "-t", str(self.holder.pid), "-n"]
        ip = need("ip")
        subprocess.run([ip, "link", "set", "lo", "up"], check=True, timeout=10)
        subprocess.run([ip, "link", "add", "vc", "type", "veth", "peer", "name", "vs", "netns", str(self.holder.pid)],
                       check=True, timeout=10)
        subprocess.run([ip, "addr", "add", f"{CLIENT_IP}/24", "dev", "vc"], check=True, timeout=10)
        subprocess.run([ip, "link", "set", "vc", "up"], check=True, timeout=10)
        for words in (["link", "set", "lo", "up"], ["addr", "add", f"{SERVER_IP}/24", "dev", "vs"],
                      ["link", "set", "vs", "up"]):
            subprocess.run([*self.prefix, ip, *words], check=True, timeout=10)

    def ns(self):
        try:
            return os.readlink(f"/proc/{self.holder.pid}/ns/net")
        except OSError:
            return None

    def nft(self, *words, check=True):
        return subprocess.run([*self.prefix, need("nft"), *words], check=check, capture_output=True, text=True,
                              timeout=10)

    def block_udp(self, port):
        """Drops datagrams to `port` arriving on the server's veth; the relay's, over its
        own lo, still pass."""
        self.nft("add", "table", "inet", TABLE)
        self.nft("add", "chain", "inet", TABLE, "input", "{ type filter hook input priority 0 ; policy accept ; }")
        self.nft("add", "rule", "inet", TABLE, "input", "iifname", "vs", "udp", "dport", str(port), "drop")

    def unblock_udp(self):
        self.nft("delete", "table", "inet", TABLE, check=False)

    def servers(self):
        """mosh2-server processes in the server's namespace (so only ours)."""
        ns = self.ns()
        found = []
        for p in filter(str.isdigit, os.listdir("/proc")):
            try:
                if os.readlink(f"/proc/{p}/ns/net") == ns and \
                        os.path.basename(os.readlink(f"/proc/{p}/exe")) == "mosh2-server":
                    found.append(int(p))
            except OSError:
                continue
        return found

    def close(self):
        for pid in self.servers():
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.holder.kill()
        self.holder.wait(timeout=10)


def advice_problems(screen, port, host):
    text = " ".join(screen.split())  # the paragraph is wrapped to the pane's width
    want = [f"nothing came back from UDP port {port} on {SERVER_IP}",
            f"ssh to {host} worked, so the host is up",
            f"Allow UDP {port} on {SERVER_IP} in the host's firewall or cloud security group"]
    return [w for w in want if w not in text]


def launch_line(build, ssh_config, port, tmp, status_file, extra=()):
    mosh2 = os.path.join(build, "tools", "mosh2")
    server = os.path.join(build, "tools", "mosh2-server")
    launch = [mosh2, f"--ssh=ssh -F {ssh_config}", f"--server={server}", f"--port={port}", "--udp-timeout=3s",
              *extra, "testhost", "--", "/bin/sh"]
    return (f"env HOME={tmp} LANG=C.UTF-8 TERM=xterm-256color PS1='$ ' MOSH2_STATUS_DIR={tmp}/status "
            f"{shlex.join(launch)}; echo $? > {status_file}")


def client_status(tmp):
    """The client's status file (docs/status.md), or None."""
    return role_status(tmp, "client")


def role_status(tmp, role):
    """The status file (docs/status.md) of the session's `role` ("client" or "server"), or None."""
    d = os.path.join(tmp, "status")
    try:
        names = os.listdir(d)
    except OSError:
        return None
    for n in names:
        try:
            with open(os.path.join(d, n)) as f:
                doc = json.load(f)
        except (OSError, ValueError):
            continue
        if doc.get("role") == role:
            return doc
    return None


def server_status(net):
    """The status file of our session's mosh2-server (docs/status.md), or None. A server
    started through ssh writes it where its own environment says (the default directory
    of its user), named by its pid; the stream-relay, a mosh2-server too, writes none."""
    for pid in net.servers():
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
        except OSError:
            continue
        if b"MOSH2_STATUS_DIR" in env:
            dirs = [env[b"MOSH2_STATUS_DIR"].decode()]
        else:
            dirs = [os.path.join(env[b"XDG_RUNTIME_DIR"].decode(), "mosh2")] if env.get(b"XDG_RUNTIME_DIR") else []
            dirs.append(f"/tmp/mosh2-{os.stat(f'/proc/{pid}').st_uid}")
        for d in dirs:
            try:
                with open(os.path.join(d, f"{pid}.json")) as f:
                    doc = json.load(f)
            except (OSError, ValueError):
                continue
            if doc.get("role") == "server":
                return doc
    return None


def nothing_sent_twice(net, tmp, timeout):
    """Both ends' status files say the stream was taken as reliable (the server told so
    through reliable_path) and nothing was retransmitted while it was; returns a summary."""
    def both():
        docs = [client_status(tmp), server_status(net)]
        return docs if all(d and d.get("reliable_path", {}).get("entered", 0) >= 1 for d in docs) else None
    docs = wait_for("both ends' status to show the reliable path", both, timeout)
    for d in docs:
        if d["reliable_path"]["retransmissions"] != 0:
            raise Failure(f"the {d['role']} retransmitted into the stream: {d['reliable_path']}")
        if d["reliable_path"]["stall_resyncs"] != 0:  # the stream lost nothing, so no watchdog fired
            raise Failure(f"the {d['role']} took the stream for one that lost a state: {d['reliable_path']}")
    return ", ".join(f"{d['role']} {d['reliable_path']} (retransmissions on any path: {d['retransmissions']})"
                     for d in docs)


def prompt_back(tmux):
    return re.search(r"^[$#] ?$", tmux.screen(), re.M)


def exit_session(tmux, status_file, timeout, who="mosh2", line="exit"):
    """Types `line` (an exit) into the session's shell; mosh2 must then end with status 0."""
    tmux.keys(line, "Enter")
    status = wait_for(f"{who} to exit", lambda: os.path.exists(status_file) and open(status_file).read().strip(),
                      timeout)
    if status != "0":
        raise Failure(f"{who} exited with status {status} after `exit`:\n{tmux.screen()}")


def blocked_then_opened(net, build, ssh_config, tmp, timeout):
    port = 60123
    net.block_udp(port)
    tmux = Tmux(80, 24)
    try:
        status_file = os.path.join(tmp, "status-1")
        tmux.start(launch_line(build, ssh_config, port, tmp, status_file, ["--transport=udp"]))
        wait_for("the bar's line about the UDP port",
                 lambda: f"No answer on UDP port {port}" in tmux.screen(), timeout)
        screen = wait_for("the paragraph about UDP", lambda: (lambda s: s if not advice_problems(s, port, "testhost")
                                                              else None)(tmux.screen()), timeout)
        print("ok: blocked: the client says what is wrong:\n  " + "\n  ".join(
            line for line in screen.splitlines() if line.strip()))
        net.unblock_udp()
        wait_for("the session's prompt once UDP is open", lambda: prompt_back(tmux), timeout)
        if "nothing came back" in tmux.screen():
            raise Failure(f"the session came up but the paragraph is still shown:\n{tmux.screen()}")
        tmux.keys("echo reach-$((6*7))", "Enter")
        wait_for("the command's output", lambda: re.search(r"^reach-42\s*$", tmux.screen(), re.M), timeout)
        print("ok: opened: the session came up, the paragraph went away, typing works")
        exit_session(tmux, status_file, timeout)
        print("ok: `exit` ended the session with status 0")
    finally:
        tmux.kill()
        net.unblock_udp()


def blocked_throughout(net, build, ssh_config, tmp, timeout):
    port = 60124
    net.block_udp(port)
    tmux = Tmux(80, 24)
    try:
        status_file = os.path.join(tmp, "status-2")
        tmux.start(launch_line(build, ssh_config, port, tmp, status_file, ["--transport=udp"]))
        status = wait_for("mosh2 to give up", lambda: os.path.exists(status_file) and open(status_file).read().strip(),
                          timeout)
        screen = tmux.screen()
        if status == "0":
            raise Failure(f"mosh2 exited 0 although UDP port {port} stayed blocked:\n{screen}")
        if tmux.run("display-message", "-p", "#{alternate_on}").stdout.strip() != "0":
            raise Failure("mosh2 exited but the pane is still on the alternate screen")
        problems = advice_problems(screen, port, "testhost")
        if problems:
            raise Failure(f"after giving up, the terminal lacks {problems}:\n{screen}")
        print(f"ok: blocked throughout: mosh2 exited {status} and left the paragraph on the terminal")
    finally:
        tmux.kill()
        net.unblock_udp()


def fallback(net, build, ssh_config, tmp, timeout):
    port = 60125
    net.block_udp(port)
    tmux = Tmux(80, 24)
    try:
        status_file = os.path.join(tmp, "status-3")
        tmux.start(launch_line(build, ssh_config, port, tmp, status_file))
        wait_for("the session's prompt over the stream", lambda: prompt_back(tmux), timeout)
        doc = wait_for("the client's status to show the stream",
                       lambda: (lambda d: d if d and d.get("transport", {}).get("in_use") == "stream" else None)(
                           client_status(tmp)), timeout)
        switches = doc["transport"]["switches"]
        if [(w["to"], w["why"]) for w in switches] != [("stream", "udp-timeout")]:
            raise Failure(f"the client's switches are {switches}, expected one to the stream for udp-timeout")
        print(f"ok: UDP blocked: the session came up over the stream ({doc['transport']})")
        tmux.keys("echo stream-$((6*7))", "Enter")
        wait_for("the command's output over the stream",
                 lambda: re.search(r"^stream-42\s*$", tmux.screen(), re.M), timeout)
        tmux.keys("clear; seq 1 100000; echo seq-done", "Enter")
        wait_for("seq 1 100000 to finish with the prompt back",
                 lambda: re.search(r"^100000\s*\nseq-done\s*\n[$#] ?$", tmux.screen(), re.M), timeout * 3)
        print("ok: over the stream, typing and output work and `seq 1 100000` finished with the prompt back")
        print(f"ok: nothing retransmitted into the stream: {nothing_sent_twice(net, tmp, timeout)}")

        typed_file = os.path.join(tmp, "typed")
        tmux.keys(f"stty -echo; cat > {typed_file}", "Enter")
        time.sleep(0.5)  # cat is reading before the first key (the session delivers in order anyway)
        typed = ""
        for i in range(60):  # bounded: 60 keys, the unblock a third of the way in
            c = "abcdefghijklmnopqrstuvwxyz0123456789"[i % 36]
            tmux.keys("-l", c)
            typed += c
            if i == 20:
                net.unblock_udp()
            time.sleep(0.1)
        doc = wait_for("the client's status to show the move back to UDP",
                       lambda: (lambda d: d if d and d.get("transport", {}).get("in_use") == "udp" else None)(
                           client_status(tmp)), timeout)
        whys = [(w["to"], w["why"]) for w in doc["transport"]["switches"]]
        if whys != [("stream", "udp-timeout"), ("udp", "udp-answered")]:
            raise Failure(f"the client's switches are {whys}, expected to the stream and back")
        tmux.keys("Enter")
        tmux.hex(0x04)
        wait_for("cat to end", lambda: os.path.exists(typed_file) and open(typed_file).read().endswith("\n"), timeout)
        got = open(typed_file).read()
        if got != typed + "\n":
            raise Failure(f"typed {typed!r} across the move back to UDP, the file holds {got!r}")
        print(f"ok: UDP unblocked mid-typing: back on UDP ({doc['transport']['switches'][-1]}), "
              f"all {len(typed)} keys arrived in order")
        exit_session(tmux, status_file, timeout, line="stty echo; exit")
        print("ok: `exit` ended the session with status 0")
    except Failure:
        print("screen:\n" + tmux.screen())
        print("status: " + json.dumps(client_status(tmp)))
        raise
    finally:
        tmux.kill()
        net.unblock_udp()


def type_keys(tmux, n, start, gap, until=None, more=0):
    """Types at most n keys `gap` seconds apart from a 36-key cycle, stopping `more` keys
    after until() first holds; returns them."""
    typed = ""
    left = None
    for i in range(n):
        c = "abcdefghijklmnopqrstuvwxyz0123456789"[(start + i) % 36]
        tmux.keys("-l", c)
        typed += c
        if left is None and until and until():
            left = more
        if left is not None:
            if left == 0:
                break
            left -= 1
        time.sleep(gap)
    return typed


def transport_in_use(tmp, want):
    return lambda: (lambda d: d if d and d.get("transport", {}).get("in_use") == want else None)(client_status(tmp))


def end_cat(tmux, path, typed, timeout, what):
    tmux.keys("Enter")
    tmux.hex(0x04)
    wait_for("cat to end", lambda: os.path.exists(path) and open(path).read().endswith("\n"), timeout)
    got = open(path).read()
    if got != typed + "\n":
        raise Failure(f"typed {typed!r} {what}, the file holds {got!r}")


def udp_lost(net, build, ssh_config, tmp, timeout):
    port = 60127
    tmux = Tmux(80, 24)
    try:
        status_file = os.path.join(tmp, "status-5")
        tmux.start(launch_line(build, ssh_config, port, tmp, status_file))
        wait_for("the session's prompt over UDP", lambda: prompt_back(tmux), timeout)
        doc = wait_for("the client's status on UDP", transport_in_use(tmp, "udp"), timeout)
        if doc["transport"]["switches"]:
            raise Failure(f"UDP works, yet the client switched: {doc['transport']}")
        print("ok: phase 1: the session runs over UDP")

        # UDP blocked mid-typing: the keys go on, the session moves to the stream.
        first = os.path.join(tmp, "typed-1")
        tmux.keys(f"stty -echo; cat > {first}", "Enter")
        time.sleep(0.5)
        typed = type_keys(tmux, 10, 0, 0.1)
        net.block_udp(port)
        blocked = time.monotonic()
        typed += type_keys(tmux, 120, 10, 0.5, transport_in_use(tmp, "stream"), 10)  # bounded: 60 s
        doc = wait_for("the client's status to show the stream", transport_in_use(tmp, "stream"), timeout)
        took = time.monotonic() - blocked
        whys = [(w["to"], w["why"]) for w in doc["transport"]["switches"]]
        if whys != [("stream", "udp-lost")]:
            raise Failure(f"the client's switches are {whys}, expected one to the stream for udp-lost")
        if took < 19:
            raise Failure(f"the client moved to the stream {took:.1f} s after UDP was blocked, before udp_lost_after")
        typed += type_keys(tmux, 10, 0, 0.1)
        end_cat(tmux, first, typed, timeout, "across the move to the stream")
        tmux.keys("stty echo; echo lost-$((6*7))", "Enter")  # typed without echo: the output follows the prompt
        wait_for("output over the stream", lambda: re.search(r"lost-42\s*$", tmux.screen(), re.M), timeout)
        print(f"ok: phase 2: UDP blocked mid-session: on the stream after {took:.0f} s (udp-lost), "
              f"all {len(typed)} keys typed across the move arrived in order, output comes back")
        print(f"ok: nothing retransmitted into the stream: {nothing_sent_twice(net, tmp, timeout)}")

        # UDP open again mid-typing: back on UDP, nothing lost.
        second = os.path.join(tmp, "typed-2")
        tmux.keys(f"stty -echo; cat > {second}", "Enter")
        time.sleep(0.5)
        typed = type_keys(tmux, 10, 5, 0.1)
        net.unblock_udp()
        # bounded: 70 s, longer than the longest probe gap
        typed += type_keys(tmux, 140, 15, 0.5, transport_in_use(tmp, "udp"), 5)
        doc = wait_for("the client's status to show the move back to UDP", transport_in_use(tmp, "udp"), timeout)
        whys = [(w["to"], w["why"]) for w in doc["transport"]["switches"]]
        if whys != [("stream", "udp-lost"), ("udp", "udp-answered")]:
            raise Failure(f"the client's switches are {whys}, expected to the stream (udp-lost) and back")
        end_cat(tmux, second, typed, timeout, "across the move back to UDP")
        tmux.keys("stty echo; echo back-$((6*7))", "Enter")
        wait_for("output over UDP", lambda: re.search(r"back-42\s*$", tmux.screen(), re.M), timeout)
        server = wait_for("the server's status to show a lossy path again", lambda: (
            lambda d: d if d and not d["reliable_path"]["in_use"] else None)(server_status(net)), timeout)
        if not server or server["reliable_path"]["in_use"]:
            raise Failure(f"back on UDP, the server still takes its path as reliable: {server and server['reliable_path']}")
        print(f"ok: phase 3: UDP open again: back on UDP, all {len(typed)} keys arrived in order; "
              f"switches {doc['transport']['switches']}")
        exit_session(tmux, status_file, timeout)
        print("ok: `exit` ended the session with status 0")
    except Failure:
        print("screen:\n" + tmux.screen())
        print("status: " + json.dumps(client_status(tmp)))
        print("server status: " + json.dumps(server_status(net)))
        raise
    finally:
        tmux.kill()
        net.unblock_udp()


def stream_ssh(client_pid):
    """The client's stream command (an ssh child of mosh2-client), or None."""
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{p}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid == client_pid and os.path.basename(os.readlink(f"/proc/{p}/exe")) == "ssh":
                return int(p)
        except (OSError, ValueError, IndexError):
            continue
    return None


def stream_cut(net, build, ssh_config, tmp, timeout):
    port = 60126
    net.block_udp(port)
    tmux = Tmux(80, 24)
    try:
        status_file = os.path.join(tmp, "status-4")
        tmux.start(launch_line(build, ssh_config, port, tmp, status_file))
        wait_for("the session's prompt over the stream", lambda: prompt_back(tmux), timeout)
        client_pid = wait_for("the client's status file", lambda: (client_status(tmp) or {}).get("pid"), timeout)
        first = wait_for("the stream's ssh", lambda: stream_ssh(client_pid), timeout)
        os.kill(first, signal.SIGKILL)
        second = wait_for("a new stream's ssh", lambda: (lambda p: p if p and p != first else None)(
            stream_ssh(client_pid)), timeout)
        tmux.keys("echo again-$((6*7))", "Enter")
        wait_for("output over the new stream", lambda: re.search(r"^again-42\s*$", tmux.screen(), re.M), timeout)
        print(f"ok: the stream's ssh killed (pid {first}): the client started another ({second}), the session goes on")
        os.rename(os.path.join(tmp, "authorized_keys"), os.path.join(tmp, "authorized_keys.off"))
        os.kill(second, signal.SIGKILL)
        status = wait_for("mosh2 to give up", lambda: os.path.exists(status_file) and open(status_file).read().strip(),
                          timeout * 2)
        screen = tmux.screen()
        if status == "0":
            raise Failure(f"mosh2 exited 0 with no path left:\n{screen}")
        want = f"mosh2: ssh could not connect or log in again without asking"
        lines = [line for line in screen.splitlines() if line.startswith("mosh2: ")]
        if len(lines) != 1 or not lines[0].startswith(want) or not screen.count(f"UDP port {port} on {SERVER_IP}"):
            raise Failure(f"expected one line starting {want!r} naming the UDP port; the terminal shows:\n{screen}")
        print(f"ok: with no way to log in again: mosh2 exited {status} with {lines[0]!r}")
    except Failure:
        print("screen:\n" + tmux.screen())
        raise
    finally:
        tmux.kill()
        net.unblock_udp()


def server_peer(tmp):
    """(address, port) the server's status file says it replies to, or None."""
    d = os.path.join(tmp, "status")
    for n in (os.listdir(d) if os.path.isdir(d) else []):
        try:
            with open(os.path.join(d, n)) as f:
                doc = json.load(f)
        except (OSError, ValueError):
            continue
        if doc.get("role") == "server" and doc.get("peer"):
            return doc["peer"]["address"], doc["peer"]["port"]
    return None


END_MAGIC = b"\0mosh2 relay end"  # docs/protocol.md, "Paths": the relay's end datagram


def listed_relay(build, prefix, pid, env_extra):
    """The relay `pid` as `mosh2-status --json` in namespace `prefix` lists it once it has
    forwarded both ways, else None."""
    env = {k: v for k, v in os.environ.items() if k not in ("MOSH2_STATUS_DIR", "XDG_RUNTIME_DIR")}
    env.update(env_extra)
    out = subprocess.run([*prefix, os.path.join(build, "tools", "mosh2-status"), "--json"], capture_output=True,
                         text=True, timeout=20, env=env)
    if out.returncode != 0:
        raise Failure(f"mosh2-status --json on the jump: status {out.returncode}, {out.stderr!r}")
    doc = json.loads(out.stdout)
    import jsonschema  # python3-jsonschema (tools/install-deps)
    schema = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                                         "status.schema.json")))
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(doc))
    if errors:
        raise Failure(f"mosh2-status --json does not match docs/status.schema.json: {errors[0].message}")
    for r in doc.get("relays", []):
        if r["pid"] == pid and r["totals"]["up"]["datagrams"] > 0 and r["totals"]["down"]["datagrams"] > 0:
            return r
    return None


def spoof_from_server(prefix, from_port, to_ip, to_port, token_hex):
    """An end datagram (`token_hex`, whatever it is) sent in namespace `prefix` from UDP
    port `from_port`, which the server holds: through a raw socket, as a forger on the
    server's side of the relay would."""
    code = f"""
import socket, struct
payload = {END_MAGIC!r} + bytes.fromhex({token_hex!r})
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
s.sendto(struct.pack("!HHHH", {from_port}, {to_port}, 8 + len(payload), 0) + payload, ({to_ip!r}, 0))
"""
    subprocess.run([*prefix, sys.executable, "-c", code], check=True, timeout=10)


def relays_in(holder_pid):
    """Pids of `mosh2-server relay` processes in the namespace held by `holder_pid`."""
    ns = os.readlink(f"/proc/{holder_pid}/ns/net")
    found = []
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{p}/ns/net") == ns and b"\0relay\0" in open(f"/proc/{p}/cmdline", "rb").read():
                found.append(int(p))
        except OSError:
            continue
    return found


def check_relays_listed(build, jumps, timeout):
    """Each jump's relay (jumps: (namespace prefix, holder pid, next hop address)) is
    listed by `mosh2-status --json` there (the default directory: the relay runs under
    sshd) with traffic both ways, its next hop, and no end token in its argv. Returns the
    relays' pids."""
    pids = []
    for prefix, holder, next_hop in jumps:
        found = wait_for("the relay on the jump", lambda: relays_in(holder), timeout)
        if len(found) != 1:
            raise Failure(f"{len(found)} relays on the jump, not 1")
        pid = found[0]
        argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        if b"--end-token-stdin" not in argv or any(re.fullmatch(rb"[0-9a-f]{32}", w) for w in argv):
            raise Failure(f"the relay's argv {argv}: it should read its end token from stdin")
        listed = wait_for(f"relay {pid} in mosh2-status --json on its jump, with traffic both ways",
                          lambda: listed_relay(build, prefix, pid, {}), timeout)
        if listed["next_hop"]["address"] != next_hop or not listed["ends_with_session"]:
            raise Failure(f"mosh2-status lists relay {pid} as {listed}")
        print(f"ok: mosh2-status --json on the jump lists relay {pid}: next hop {next_hop}:"
              f"{listed['next_hop']['port']}, up {listed['totals']['up']}, down {listed['totals']['down']}")
        pids.append(pid)
    return pids


def check_relays_end(pids):
    """The relays end within 5 s of the session (bounded), their status files with them."""
    started = time.monotonic()
    deadline = started + 5
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [p for p in pids if alive(p)]
    if left:
        raise Failure(f"relays {left} still run 5 s after the session ended")
    files = [f for p in pids for f in [os.path.join(f"/tmp/mosh2-{os.geteuid()}", f"{p}.json")] if os.path.exists(f)]
    if files:
        raise Failure(f"the relays' status files outlived them: {files}")
    print(f"ok: the relay(s) {pids} ended {time.monotonic() - started:.2f} s after mosh2 exited, "
          f"their status files gone")


class Chain:
    """client (ours, 10.201.0.1) -- jump 1 (10.201.0.2 | 10.202.0.1) -- ... -- server
    (10.20N.0.2, N = jumps + 1); the jumps do not route, so nothing joins the client to the
    server but what runs on the jumps."""

    def __init__(self, jumps=1):
        ip = need("ip")
        self.holders = [subprocess.Popen([need("unshare"), "-n", "sleep", "600"], stdin=subprocess.DEVNULL)
                        for _ in range(jumps + 1)]
        self.prefixes = [[]] + [[need("nsenter"), "-t", str(h.pid), "-n"] for h in self.holders]
        self.jump, self.server = self.prefixes[1], self.prefixes[-1]
        self.server_ip = f"10.{201 + jumps}.0.2"
        mine = os.readlink("/proc/self/ns/net")
        for h in self.holders:
            wait_for("a namespace", lambda: os.readlink(f"/proc/{h.pid}/ns/net") != mine, 10)

        def run(prefix, *words):
            subprocess.run([*prefix, ip, *words], check=True, timeout=10)
        self.run = run
        for prefix in self.prefixes:
            run(prefix, "link", "set", "lo", "up")
        for i in range(jumps + 1):  # link i joins node i and node i + 1
            left, right = self.prefixes[i], self.prefixes[i + 1]
            run(left, "link", "add", f"l{i}a", "type", "veth", "peer", "name", f"l{i}b", "netns",
                str(self.holders[i].pid))
            run(left, "addr", "add", f"10.{201 + i}.0.1/24", "dev", f"l{i}a")
            run(left, "link", "set", f"l{i}a", "up")
            run(right, "addr", "add", f"10.{201 + i}.0.2/24", "dev", f"l{i}b")
            run(right, "link", "set", f"l{i}b", "up")
        if subprocess.run([ip, "route", "get", self.server_ip], capture_output=True, timeout=10).returncode == 0:
            raise Failure("the client has a route to the server: the test's topology is wrong")

    def close(self):
        # Our own end of the first link: the pair would go with the jump's namespace, but
        # not before the next Chain wants the name.
        subprocess.run([need("ip"), "link", "del", "l0a"], capture_output=True, timeout=10)
        for h in self.holders:
            ns = os.readlink(f"/proc/{h.pid}/ns/net")
            for p in filter(str.isdigit, os.listdir("/proc")):
                try:
                    if os.readlink(f"/proc/{p}/ns/net") == ns and int(p) != h.pid:
                        os.kill(int(p), signal.SIGKILL)
                except OSError:
                    continue
            h.kill()
            h.wait(timeout=10)


def relay(build, tmp, timeout):
    """client (ours, 10.201.0.1) -- jump (10.201.0.2 | 10.202.0.1) -- server (10.202.0.2);
    the jump does not route, so only the relay joins the client to the server."""
    chain = Chain()
    jump, server, run = chain.jump, chain.server, chain.run
    tmux = Tmux(80, 24)
    procs = []
    try:
        env = dict(os.environ, HOME=tmp, LANG="C.UTF-8", MOSH2_STATUS_DIR=os.path.join(tmp, "status"))
        out = subprocess.run([*server, os.path.join(build, "tools", "mosh2-server"), "new", "-i", "10.202.0.2",
                              "-p", "60130", "--relay-end", "--", "/bin/sh"], capture_output=True, text=True,
                             timeout=20, env=env, stdin=subprocess.DEVNULL)
        m = re.search(r"MOSH CONNECT (\d+) (\S+)", out.stdout)
        token = re.search(r"^MOSH2 RELAY-END ([0-9a-f]{32})$", out.stdout, re.M)
        if not m or not token:
            raise Failure(f"the server did not start with an end token: {out.stdout!r} {out.stderr!r}")
        key, token = m.group(2), token.group(1)
        server_bin = os.path.join(build, "tools", "mosh2-server")
        relay_cmd = [*jump, server_bin, "relay", "10.202.0.2", "60130", "-i", "10.201.0.2", "-p", "60200",
                     "--idle-timeout", "5s", "-f", "--end-token-stdin"]
        jump_status = os.path.join(tmp, "jump-status")
        relay_env = dict(os.environ, MOSH2_STATUS_DIR=jump_status)
        relay_proc = subprocess.Popen(relay_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      stdin=subprocess.PIPE, env=relay_env)
        procs.append(relay_proc)
        relay_proc.stdin.write(token + "\n")
        relay_proc.stdin.close()
        line = relay_proc.stdout.readline()
        if line.strip() != "MOSH RELAY 60200":
            raise Failure(f"the relay said {line!r}, not MOSH RELAY 60200")
        if key in " ".join(relay_cmd) or token in " ".join(relay_cmd):
            raise Failure("the session key or the end token is in the relay's argv")
        relay_file = os.path.join(jump_status, f"{relay_proc.pid}.json")
        busy = subprocess.run(relay_cmd[:-1], capture_output=True, text=True, timeout=20, env=relay_env,
                              stdin=subprocess.DEVNULL)
        lines = busy.stderr.strip().splitlines()
        if busy.returncode != 1 or len(lines) != 1 or "cannot bind 10.201.0.2 port 60200" not in lines[0]:
            raise Failure(f"a relay on a taken port gave status {busy.returncode}, stderr {busy.stderr!r}")
        print(f"ok: a second relay on the same port: exit 1 with {lines[0]!r}")
        # A status directory it cannot use: one warning line, and it forwards all the same
        # (here until its 1 s idle timeout); no token on its input: one line, exit 2.
        not_a_dir = os.path.join(tmp, "not-a-directory")
        open(not_a_dir, "w").close()
        lone = subprocess.run([*jump, server_bin, "relay", "10.202.0.2", "60130", "-i", "10.201.0.2", "-p", "60210",
                               "--idle-timeout", "1s", "-f"], capture_output=True, text=True, timeout=20,
                              stdin=subprocess.DEVNULL, env=dict(os.environ, MOSH2_STATUS_DIR=not_a_dir))
        warned = lone.stderr.strip().splitlines()
        if (lone.returncode != 0 or lone.stdout.strip() != "MOSH RELAY 60210" or len(warned) != 1
                or "no status file" not in warned[0]):
            raise Failure(f"a relay without a usable status directory: status {lone.returncode}, "
                          f"stdout {lone.stdout!r}, stderr {lone.stderr!r}")
        print(f"ok: a relay whose status directory is unusable runs with one warning: {warned[0]!r}")
        tokenless = subprocess.run([*jump, server_bin, "relay", "10.202.0.2", "60130", "-i", "10.201.0.2", "-p",
                                    "60211", "-f", "--end-token-stdin"], capture_output=True, text=True, timeout=30,
                                   stdin=subprocess.DEVNULL, env=relay_env)
        said = tokenless.stderr.strip().splitlines()
        if tokenless.returncode != 2 or len(said) != 1 or tokenless.stdout:
            raise Failure(f"a relay given no end token: status {tokenless.returncode}, stderr {tokenless.stderr!r}")
        print(f"ok: --end-token-stdin with nothing on stdin: exit 2 with {said[0]!r}")
        client = os.path.join(build, "tools", "mosh2-client")
        status_file = os.path.join(tmp, "status-relay")
        tmux.start(f"env MOSH_KEY={key} HOME={tmp} LANG=C.UTF-8 TERM=xterm-256color MOSH2_STATUS_DIR={tmp}/status "
                   f"{client} 10.201.0.2 60200; echo $? > {status_file}")
        tmux.keys("PS1='$ '; echo relay-$((6*7))", "Enter")
        wait_for("output through the relay", lambda: re.search(r"^relay-42\s*$", tmux.screen(), re.M), timeout)
        print("ok: client -> relay on the jump -> server, with no route from client to server")
        listed = wait_for("the relay in mosh2-status --json on the jump, with traffic both ways",
                          lambda: listed_relay(build, jump, relay_proc.pid, {"MOSH2_STATUS_DIR": jump_status}),
                          timeout)
        if listed["next_hop"] != {"address": "10.202.0.2", "port": 60130} or not listed["ends_with_session"]:
            raise Failure(f"mosh2-status lists the relay as {listed}")
        print(f"ok: mosh2-status --json on the jump lists the relay: next hop 10.202.0.2:60130, "
              f"up {listed['totals']['up']}, down {listed['totals']['down']}, "
              f"{len(listed['sources'])} source(s)")
        table = subprocess.run([*jump, os.path.join(build, "tools", "mosh2-status")], capture_output=True, text=True,
                               timeout=20, env=dict(os.environ, MOSH2_STATUS_DIR=jump_status))
        if "NEXT HOP" not in table.stdout or "10.202.0.2:60130" not in table.stdout:
            raise Failure(f"mosh2-status's table on the jump: {table.stdout!r}")
        before = wait_for("the server's peer in its status file", lambda: server_peer(tmp), timeout)
        # Roam: the client's address changes under its socket. (This namespace's own
        # setting: the new address takes over the subnet's route when the old one goes.)
        with open("/proc/sys/net/ipv4/conf/l0a/promote_secondaries", "w") as f:
            f.write("1")
        run([], "addr", "add", "10.201.0.5/24", "dev", "l0a")
        run([], "addr", "del", "10.201.0.1/24", "dev", "l0a")
        tmux.keys("echo roamed-$((6*7))", "Enter")
        wait_for("output after the client's roam", lambda: re.search(r"^roamed-42\s*$", tmux.screen(), re.M), timeout)
        after = wait_for("the server's peer to change", lambda: (lambda p: p if p and p != before else None)(
            server_peer(tmp)), timeout)
        if before[0] != "10.202.0.1" or after[0] != "10.202.0.1":
            raise Failure(f"the server's peer went {before} -> {after}; expected the jump's 10.202.0.1 both times")
        print(f"ok: the client roamed to 10.201.0.5: the relay followed with a new upstream socket "
              f"(the server's peer {before[0]}:{before[1]} -> {after[0]}:{after[1]}), the session goes on")
        # End datagrams that are not exactly the session's, or not from the next hop, are
        # only data: the relay passes them on and keeps running.
        upstream_port = after[1]
        wrong = token[:-1] + ("0" if token[-1] != "0" else "1")
        spoof_from_server(server, 60130, "10.202.0.1", upstream_port, wrong)
        spoof_from_server(server, 60130, "10.202.0.1", upstream_port, token[:30])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(END_MAGIC + bytes.fromhex(token), ("10.201.0.2", 60200))  # the true token, from the client's side
        time.sleep(1)
        if relay_proc.poll() is not None:
            raise Failure(f"a forged end datagram ended the relay (status {relay_proc.returncode})")
        tmux.keys("echo forged-$((6*7))", "Enter")
        wait_for("output after the forged ends", lambda: re.search(r"^forged-42\s*$", tmux.screen(), re.M), timeout)
        print("ok: end datagrams with a wrong or truncated token from the next hop's address, and the true one "
              "from the client's side, left the relay running and the session going")
        # A client that is away (stopped) leaves the server sending heartbeats: the relay
        # outlives its idle timeout while the session lasts. Heartbeats alone do not make
        # it rewrite its status file each time (within 30 s, on a wake-up it has anyway).
        pane_pid = int(tmux.run("display-message", "-p", "#{pane_pid}").stdout.strip())
        client_pid = next(int(p) for p in filter(str.isdigit, os.listdir("/proc"))
                          if open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[1] == str(pane_pid))
        time.sleep(1.5)  # the last states acknowledged: from now on only heartbeats
        os.kill(client_pid, signal.SIGSTOP)
        time.sleep(1)
        updates = set()
        for _ in range(14):  # longer than the relay's 5 s idle timeout
            time.sleep(0.5)
            try:
                updates.add(json.load(open(relay_file))["updated_unix_ms"])
            except (OSError, ValueError):
                pass
        alive_during = relay_proc.poll() is None
        os.kill(client_pid, signal.SIGCONT)
        if not alive_during:
            raise Failure("the relay ended while the session lasted (its client stopped for 8 s)")
        tmux.keys("echo back-$((6*7))", "Enter")
        wait_for("output after the client's pause", lambda: re.search(r"^back-42\s*$", tmux.screen(), re.M), timeout)
        if len(updates) > 2:
            raise Failure(f"with only heartbeats for 7 s the relay rewrote its status file {len(updates) - 1} times")
        print(f"ok: with the client stopped for 8 s the server kept sending, so the relay (idle timeout 5 s) lived "
              f"on; heartbeats alone rewrote its status file {len(updates) - 1} time(s) in 7 s")
        tmux.keys("exit", "Enter")
        status = wait_for("the client to exit",
                          lambda: os.path.exists(status_file) and open(status_file).read().strip(), timeout)
        if status != "0":
            raise Failure(f"the client exited {status}:\n{tmux.screen()}")
        exited = time.monotonic()
        try:
            relay_proc.wait(timeout=3)  # under the 5 s idle timeout: the end datagram ended it
        except subprocess.TimeoutExpired:
            raise Failure(f"the relay was still running 3 s after the session ended; its status file: "
                          f"{open(relay_file).read()}") from None
        if relay_proc.returncode != 0:
            raise Failure(f"the relay exited {relay_proc.returncode}: {relay_proc.stderr.read()!r}")
        if os.path.exists(relay_file):
            raise Failure("the relay's status file outlived it")
        print(f"ok: the session ended; the relay exited 0 {time.monotonic() - exited:.2f} s after the client, "
              f"on the server's end datagram (idle timeout 5 s), and its status file is gone")
    except Failure:
        print("screen:\n" + tmux.screen())
        raise
    finally:
        tmux.kill()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        chain.close()


def two_jumps(build, tmp, timeout):
    """`mosh2 -J jump1,jump2 testhost` across a Chain of two jumps, an sshd on each and
    one on the host: a relay on each jump, the client sends to the first."""
    chain = Chain(2)
    tmux = Tmux(80, 24)
    sshds = []
    try:
        configs = []
        hosts = (("jump1", "10.201.0.2", chain.prefixes[1]), ("jump2", "10.202.0.2", chain.prefixes[2]),
                 ("testhost", chain.server_ip, chain.server))
        for name, address, prefix in hosts:
            d = os.path.join(tmp, name)
            os.makedirs(d)
            sshd, config, _ = start_sshd(d, address, prefix)
            sshds.append(sshd)
            configs.append(open(config).read().replace("Host testhost", f"Host {name}"))
        ssh_config = os.path.join(tmp, "ssh_config")
        with open(ssh_config, "w") as f:
            f.write("\n".join(configs))
        mosh2 = os.path.join(build, "tools", "mosh2")
        server = os.path.join(build, "tools", "mosh2-server")
        status_file = os.path.join(tmp, "status-jumps")
        launch = [mosh2, f"--ssh=ssh -F {ssh_config}", f"--server={server}", "-J", "jump1,jump2", "testhost",
                  "--", "/bin/sh"]
        tmux.start(f"env HOME={tmp} LANG=C.UTF-8 TERM=xterm-256color PS1='$ ' MOSH2_STATUS_DIR={tmp}/status "
                   f"{shlex.join(launch)}; echo $? > {status_file}")
        tmux.keys("echo chained-$((6*7)) $SSH_CONNECTION", "Enter")
        wait_for("output through two jumps", lambda: re.search(r"^chained-42 10\.203\.0\.1 ", tmux.screen(), re.M),
                 timeout)
        doc = wait_for("the client's status", lambda: client_status(tmp), timeout)
        if doc["peer"]["address"] != "10.201.0.2":
            raise Failure(f"the client sends to {doc['peer']}, not to the relay on the first jump (10.201.0.2)")
        print(f"ok: mosh2 -J jump1,jump2 testhost: the session runs through two relays "
              f"(the client sends to {doc['peer']['address']}:{doc['peer']['port']})")
        relays = check_relays_listed(build, [(chain.prefixes[1], chain.holders[0].pid, "10.202.0.2"),
                                             (chain.prefixes[2], chain.holders[1].pid, "10.203.0.2")], timeout)
        exit_session(tmux, status_file, timeout, who="mosh2 -J with two jumps")
        print("ok: `exit` ended the session with status 0")
        check_relays_end(relays)
    except Failure:
        print("screen:\n" + tmux.screen())
        raise
    finally:
        tmux.kill()
        for sshd in sshds:
            stop_sshd(sshd)
        chain.close()


def jump_host(build, tmp, timeout):
    """`mosh2 -J jumphost testhost` across the Chain, with an sshd on the jump and one on
    the host; then a -J to a jump with no sshd: one line, exit 1."""
    chain = Chain()
    tmux = Tmux(80, 24)
    sshds = []
    try:
        configs = []
        for name, address, prefix in (("jump", "10.201.0.2", chain.jump), ("host", "10.202.0.2", chain.server)):
            d = os.path.join(tmp, name)
            os.makedirs(d)
            sshd, config, _ = start_sshd(d, address, prefix)
            sshds.append(sshd)
            configs.append(open(config).read().replace("Host testhost", "Host jumphost" if name == "jump"
                                                       else "Host testhost"))
        ssh_config = os.path.join(tmp, "ssh_config")
        with open(ssh_config, "w") as f:
            f.write("\n".join(configs))
        mosh2 = os.path.join(build, "tools", "mosh2")
        server = os.path.join(build, "tools", "mosh2-server")
        status_file = os.path.join(tmp, "status-jump")
        launch = [mosh2, f"--ssh=ssh -F {ssh_config}", f"--server={server}", "-J", "jumphost", "testhost",
                  "--", "/bin/sh"]
        tmux.start(f"env HOME={tmp} LANG=C.UTF-8 TERM=xterm-256color PS1='$ ' MOSH2_STATUS_DIR={tmp}/status "
                   f"{shlex.join(launch)}; echo $? > {status_file}")
        wait_for("the session's prompt through the jump", lambda: prompt_back(tmux), timeout)
        tmux.keys("echo jumped-$((6*7)) $SSH_CONNECTION", "Enter")
        wait_for("output through the jump", lambda: re.search(r"^jumped-42 10\.202\.0\.1 ", tmux.screen(), re.M),
                 timeout)
        doc = wait_for("the client's status", lambda: client_status(tmp), timeout)
        if doc["peer"]["address"] != "10.201.0.2":
            raise Failure(f"the client sends to {doc['peer']}, not to the relay on the jump (10.201.0.2)")
        relays = relays_in(chain.holders[0].pid)
        print(f"ok: mosh2 -J jumphost testhost: the session runs, the client sends to the relay "
              f"{doc['peer']['address']}:{doc['peer']['port']} (relay pids {relays})")
        check_relays_listed(build, [(chain.jump, chain.holders[0].pid, "10.202.0.2")], timeout)
        exit_session(tmux, status_file, timeout, who="mosh2 -J")
        print("ok: `exit` ended the session with status 0")
        check_relays_end(relays)
        # The same with the jump in ssh's configuration (ProxyJump) instead of -J.
        proxied = os.path.join(tmp, "ssh_config_proxyjump")
        with open(proxied, "w") as f:
            f.write("\n".join(configs).replace("Host testhost\n", "Host testhost\n  ProxyJump jumphost\n"))
        status_file = os.path.join(tmp, "status-proxyjump")
        launch = [mosh2, f"--ssh=ssh -F {proxied}", f"--server={server}", "testhost", "--", "/bin/sh"]
        tmux.kill()
        tmux.start(f"env HOME={tmp} LANG=C.UTF-8 TERM=xterm-256color PS1='$ ' MOSH2_STATUS_DIR={tmp}/status2 "
                   f"{shlex.join(launch)}; echo $? > {status_file}")
        tmux.keys("echo proxyjump-$((6*7))", "Enter")
        wait_for("output through the configured ProxyJump",
                 lambda: re.search(r"^proxyjump-42\s*$", tmux.screen(), re.M), timeout)
        exit_session(tmux, status_file, timeout, who="mosh2 with a ProxyJump in its ssh configuration")
        print("ok: a ProxyJump in the ssh configuration (no -J): the session runs through the relay, exit 0")
        bad = subprocess.run([mosh2, "--allow-no-tty", f"--ssh=ssh -F {ssh_config}", f"--server={server}",
                              "-J", "10.201.0.9", "testhost"], capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL, env=dict(os.environ, HOME=tmp))
        last = bad.stderr.strip().splitlines()[-1:] or [""]
        if bad.returncode == 0 or not last[0].startswith("mosh2: "):
            raise Failure(f"-J to an unreachable jump gave status {bad.returncode}, stderr {bad.stderr!r}")
        print(f"ok: an unreachable jump: status {bad.returncode}, {last[0]!r}")
    except Failure:
        print("screen:\n" + tmux.screen())
        raise
    finally:
        tmux.kill()
        for sshd in sshds:
            stop_sshd(sshd)
        chain.close()


def inside(build, mode, timeout):
    need("tmux")
    tmp = tempfile.mkdtemp(prefix="mosh2-reach-")
    sshd = None
    log = None
    net = None
    try:
        if mode == "relay":
            relay(build, tmp, timeout)
            return 0
        if mode == "jump":
            jump_host(build, tmp, timeout)
            two_jumps(build, os.path.join(tmp, "two"), timeout)
            return 0
        net = Net()
        sshd, ssh_config, log = start_sshd(tmp, SERVER_IP, net.prefix)
        if mode == "blocked-udp":
            blocked_then_opened(net, build, ssh_config, tmp, timeout)
            blocked_throughout(net, build, ssh_config, tmp, timeout)
        elif mode == "fallback":
            fallback(net, build, ssh_config, tmp, timeout)
        elif mode == "stream-cut":
            stream_cut(net, build, ssh_config, tmp, timeout)
        elif mode == "udp-lost":
            udp_lost(net, build, ssh_config, tmp, timeout)
        return 0
    except (Failure, subprocess.SubprocessError, OSError) as e:
        print(f"FAIL: {mode}: {e}")
        if log and os.path.exists(log):
            print("sshd log:\n" + open(log).read())
        return 1
    finally:
        stop_sshd(sshd)
        if net:
            net.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--mode", choices=["blocked-udp", "fallback", "stream-cut", "udp-lost", "relay", "jump"], required=True)
    ap.add_argument("--timeout", type=float, default=40.0)
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    if args.inside:
        return inside(build, args.mode, args.timeout)
    if os.geteuid() != 0:
        print("FAIL: this test makes network namespaces and runs sshd: it needs root")
        return 1
    for tool in ("unshare", "nsenter", "ip", "nft", "tmux"):
        if not shutil.which(tool):
            print(f"FAIL: {tool} is missing (tools/install-deps installs util-linux, iproute2, nftables, tmux)")
            return 1
    return subprocess.run([shutil.which("unshare"), "-n", sys.executable, os.path.abspath(__file__), "--build", build,
                           "--mode", args.mode, "--timeout", str(args.timeout), "--inside"], timeout=600).returncode


if __name__ == "__main__":
    sys.exit(main())
