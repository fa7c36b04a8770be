#!/usr/bin/env python3
"""--family and --experimental-remote-ip, side by side with the stock `mosh` wrapper
(Debian's /usr/bin/mosh, run, never read): for every combination, both must reach the
same address, or both fail.

The test re-runs itself in new mount and network namespaces (`unshare -m -n`) with lo up
and its own /etc/hosts bind-mounted, so that `dual.test` has both ::1 and 127.0.0.1,
`v4.test` only 127.0.0.1 and `v6.test` only ::1, and no resolver query leaves the
machine. Then:
1. The ProxyCommand (`--fake-proxy`), for each --family, host, and set of listeners
   (both families, IPv4 only, IPv6 only): the `MOSH IP` each reports, or failure.
2. The whole launcher with --experimental-remote-ip=local and =remote, through a fake
   ssh (records its destination, sets SSH_CONNECTION, runs the remote command with sh),
   a fake server (prints MOSH CONNECT) and a fake client (records its argv): the ssh
   destination and the address the client is given.

Agreement alone would pass if both failed everywhere, so the test also requires a
minimum number of combinations that connect (measured: 55 of 108 proxy rows and 34 of 36
launcher rows) and a few results fixed in advance (EXPECT_PROXY, EXPECT_LAUNCHER).

Usage: family_vs_stock.py --build DIR
Exits 0 when mosh2 and stock agree everywhere and the fixed results hold, 1 with the
differences."""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

STOCK = "/usr/bin/mosh"
FAMILIES = ["inet", "inet6", "auto", "all", "prefer-inet", "prefer-inet6"]
HOSTS = """127.0.0.1 localhost
::1 dual.test
127.0.0.1 dual.test
127.0.0.1 v4.test
::1 v6.test
"""


# At least this many combinations must connect (a third below what was measured).
MIN_PROXY_CONNECTS = 36
MIN_LAUNCHER_CONNECTS = 24
# (listeners, --family, host) -> the MOSH IP mosh2 must report, or "fails".
EXPECT_PROXY = {
    ("v4+v6", "inet", "dual.test"): "127.0.0.1",
    ("v4+v6", "inet6", "dual.test"): "::1",
    ("v4+v6", "prefer-inet", "dual.test"): "127.0.0.1",
    ("v4+v6", "prefer-inet6", "dual.test"): "::1",
    ("v4+v6", "inet", "127.0.0.1"): "127.0.0.1",
    ("v4+v6", "inet6", "::1"): "::1",
    ("v4", "inet", "v4.test"): "127.0.0.1",
    ("v4+v6", "auto", "nosuch.invalid"): "fails",
    ("v4+v6", "inet6", "127.0.0.1"): "fails",
}
# (--experimental-remote-ip, --family, destination) -> what the fakes record.
EXPECT_LAUNCHER = {
    ("local", "inet", "me@dual.test"): "ssh to me@127.0.0.1, client to 127.0.0.1",
    ("local", "inet6", "me@dual.test"): "ssh to me@::1, client to ::1",
    ("local", "auto", "v6.test"): "ssh to ::1, client to ::1",
    ("local", "inet6", "v4.test"): "fails",
    # remote: ssh gets the name as typed, the client the server's side of SSH_CONNECTION.
    ("remote", "inet", "me@dual.test"): "ssh to me@dual.test, client to 10.1.2.3",
    ("remote", "inet6", "v4.test"): "ssh to v4.test, client to 10.1.2.3",
}


def expectation_problems(kind, results, expected):
    problems = []
    for key, want in expected.items():
        got = results.get(key, "not run")
        if got != want:
            problems.append(f"{kind} {' '.join(key)}: mosh2 {got}, expected {want}")
    return problems


def listeners(kinds):
    """TCP listeners on one port for the given families, accepting and closing."""
    socks = []
    port = 0
    for kind in kinds:
        if kind == "v4":
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", port))
        else:
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind(("::1", port))
        s.listen(16)
        port = s.getsockname()[1]
        socks.append(s)

    def serve(s):
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            c.close()
    for s in socks:
        threading.Thread(target=serve, args=(s,), daemon=True).start()
    return socks, port


def proxy_result(prog, family, host, port):
    p = subprocess.run([prog, f"--family={family}", "--fake-proxy", "--", host, str(port)],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
    ips = [l.split()[2] for l in p.stderr.splitlines() if l.startswith("MOSH IP ")]
    return ips[0] if p.returncode == 0 and ips else "fails"


def compare_proxies(mosh2):
    problems, rows, reached, results = [], 0, 0, {}
    for kinds in (["v4", "v6"], ["v4"], ["v6"]):
        socks, port = listeners(kinds)
        try:
            for family in FAMILIES:
                for host in ["dual.test", "v4.test", "v6.test", "127.0.0.1", "::1", "nosuch.invalid"]:
                    ours, stock = proxy_result(mosh2, family, host, port), proxy_result(STOCK, family, host, port)
                    rows += 1
                    reached += ours != "fails"
                    results[("+".join(kinds), family, host)] = ours
                    if ours != stock:
                        problems.append(f"--fake-proxy --family={family} {host} with {'+'.join(kinds)} listening: "
                                        f"mosh2 {ours}, stock {stock}")
        finally:
            for s in socks:
                s.close()
    print(f"proxy: {rows} combinations, {reached} of them connect")
    if reached < MIN_PROXY_CONNECTS:
        problems.append(f"only {reached} of {rows} proxy combinations connect (at least {MIN_PROXY_CONNECTS})")
    problems += expectation_problems("--fake-proxy", results, EXPECT_PROXY)
    return problems, rows


def write_script(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)


def launcher_result(prog, tmp, mode, family, destination):
    """(ssh destination, client address) from a run through the fakes, or 'fails'."""
    log = os.path.join(tmp, "log")
    if os.path.exists(log):
        os.unlink(log)
    args = [prog, f"--ssh={tmp}/fake-ssh", f"--server={tmp}/fake-server", f"--client={tmp}/fake-client",
            f"--experimental-remote-ip={mode}", f"--family={family}", destination]
    if prog != STOCK:
        args.insert(1, "--allow-no-tty")
    p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, TERM="xterm", LANG="C.UTF-8"))
    if p.returncode != 0 or not os.path.exists(log):
        return "fails"
    record = dict(line.split("=", 1) for line in open(log).read().splitlines())
    return f"ssh to {record.get('dest')}, client to {record.get('ip')}"


def compare_launchers(mosh2, tmp):
    write_script(f"{tmp}/fake-ssh", f"""#!/bin/sh
# The word before "--" is the destination; the last word is the remote command.
prev=""; for a in "$@"; do [ "$a" = "--" ] && dest="$prev"; prev="$a"; done
echo "dest=$dest" >> {tmp}/log
for remote in "$@"; do :; done
SSH_CONNECTION="10.9.8.7 50000 10.1.2.3 22" exec sh -c "$remote"
""")
    write_script(f"{tmp}/fake-server", "#!/bin/sh\necho 'MOSH CONNECT 60001 AAAAAAAAAAAAAAAAAAAAAA'\n")
    write_script(f"{tmp}/fake-client", f"""#!/bin/sh
[ "$1" = -c ] && {{ echo 8; exit 0; }}
for a in "$@"; do prev2="$prev"; prev="$a"; done
echo "ip=$prev2" >> {tmp}/log
""")
    problems, rows, reached, results = [], 0, 0, {}
    for mode in ["local", "remote"]:
        for family in FAMILIES:
            for destination in ["me@dual.test", "v4.test", "v6.test"]:
                ours = launcher_result(mosh2, tmp, mode, family, destination)
                stock = launcher_result(STOCK, tmp, mode, family, destination)
                rows += 1
                reached += ours != "fails"
                results[(mode, family, destination)] = ours
                print(f"{mode} --family={family} {destination}: {ours}")
                if ours != stock:
                    problems.append(f"--experimental-remote-ip={mode} --family={family} {destination}: "
                                    f"mosh2 {ours}; stock {stock}")
    print(f"launcher: {rows} combinations, {reached} of them connect")
    if reached < MIN_LAUNCHER_CONNECTS:
        problems.append(f"only {reached} of {rows} launcher combinations connect (at least {MIN_LAUNCHER_CONNECTS})")
    problems += expectation_problems("launcher", results, EXPECT_LAUNCHER)
    return problems, rows


def inside(build):
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
    # The stock wrapper resolves with AI_ADDRCONFIG, which hides a family that has only
    # loopback addresses: give each family one more address, as a real host has.
    subprocess.run(["ip", "addr", "add", "fd00:6d6f:7368::2/128", "dev", "lo"], check=True, timeout=10)
    subprocess.run(["ip", "addr", "add", "10.254.254.2/32", "dev", "lo"], check=True, timeout=10)
    tmp = tempfile.mkdtemp(prefix="mosh2-family-")
    try:
        with open(f"{tmp}/hosts", "w") as f:
            f.write(HOSTS)
        subprocess.run(["mount", "--bind", f"{tmp}/hosts", "/etc/hosts"], check=True, timeout=10)
        mosh2 = os.path.join(build, "tools", "mosh2")
        problems, rows = compare_proxies(mosh2)
        more, more_rows = compare_launchers(mosh2, tmp)
        problems += more
        for p in problems:
            print(f"FAIL: {p}")
        if not problems:
            print(f"ok: mosh2 and stock agree on {rows} proxy and {more_rows} launcher combinations")
        return 1 if problems else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    if args.inside:
        return inside(build)
    for tool in (STOCK, shutil.which("unshare") or "unshare", shutil.which("ip") or "ip"):
        if not os.access(tool, os.X_OK):
            print(f"FAIL: {tool} is missing (Debian packages mosh, util-linux, iproute2)")
            return 1
    return subprocess.run([shutil.which("unshare"), "-m", "-n", sys.executable, os.path.abspath(__file__),
                           "--build", build, "--inside"], timeout=600).returncode


if __name__ == "__main__":
    sys.exit(main())
