#!/usr/bin/env python3
"""The Debian packages end to end: `tools/package` builds them (one build, lintian must
find no error or warning), every path in each .deb is the expected one, none is a file
of Debian's mosh or of any other installed package, and no maintainer script takes an
alternative. Then the packages are installed on this machine with dpkg, `--version` runs
from /usr/bin, a `mosh2 --local` session runs from the installed programs in a tmux pane
(the shell's parent is /usr/bin/mosh2-server, the client /usr/bin/mosh2-client, and the
installed mosh2-status lists the session), and the packages are purged: every path they
brought is gone, no new path named mosh2 is left in /etc, /usr, /var or /opt, and the
alternatives are as before.

Installing is only done where it harms nothing: as root, with no mosh2 package installed
already and none of the packages' files on disk (a `meson install` into /usr, say);
otherwise the test is skipped (exit 77). Whatever happens after the install, the packages
are purged again.

Usage: package_deb.py --source DIR --build DIR --version VERSION
Exits 0 on success, 1 with a reason, 77 when skipped. Every wait is bounded."""

import argparse
import configparser
import io
import json
import os
import re
import shlex
import subprocess
import sys
import tarfile
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from interop import Failure, Tmux, descends_from, expect_clean_exit, need, tear_down, wait_for  # noqa: E402

PACKAGES = ["mosh2-server", "mosh2-client", "mosh2"]
DOC = "/usr/share/doc/"
UFW_PROFILE = "/etc/ufw/applications.d/mosh2-server"
EXPECTED = {
    "mosh2-server": [
        UFW_PROFILE,
        "/usr/bin/mosh2-server",
        "/usr/bin/mosh2-status",
        "/usr/share/bash-completion/completions/mosh2-server",
        "/usr/share/bash-completion/completions/mosh2-status",
        "/usr/share/doc/mosh2-server/README.Debian",
        "/usr/share/doc/mosh2-server/changelog.gz",
        "/usr/share/doc/mosh2-server/copyright",
        "/usr/share/doc/mosh2-server/examples/fail2ban/filter.d/mosh2-server.conf",
        "/usr/share/doc/mosh2-server/examples/fail2ban/jail.d/mosh2-server.conf",
        "/usr/share/doc/mosh2-server/status.md.gz",
        "/usr/share/man/man1/mosh2-server.1.gz",
        "/usr/share/man/man1/mosh2-status.1.gz",
        "/usr/share/mosh2-server/status.schema.json",
    ],
    "mosh2-client": [
        "/usr/bin/mosh2",
        "/usr/bin/mosh2-client",
        "/usr/share/bash-completion/completions/mosh2",
        "/usr/share/bash-completion/completions/mosh2-client",
        "/usr/share/doc/mosh2-client/README.Debian",
        "/usr/share/doc/mosh2-client/changelog.gz",
        "/usr/share/doc/mosh2-client/copyright",
        "/usr/share/man/man1/mosh2-client.1.gz",
        "/usr/share/man/man1/mosh2.1.gz",
    ],
    "mosh2": [
        "/usr/share/doc/mosh2/README.Debian",
        "/usr/share/doc/mosh2/changelog.gz",
        "/usr/share/doc/mosh2/copyright",
    ],
}
# What the relationship fields must name: what the programs use at run time, and the
# metapackage's two halves.
RELATIONS = {
    "mosh2-server": [("Recommends", "libutempter0")],
    "mosh2-client": [("Recommends", "openssh-client")],
    "mosh2": [("Depends", "mosh2-client"), ("Depends", "mosh2-server")],
}
SKIP = 77


class Skip(Exception):
    pass


def run(argv, timeout=120, check=True, **kw):
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise Failure(f"{shlex.join(argv)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
    return proc


def dpkg(*args):
    """dpkg, waiting (bounded) while another apt or dpkg holds the lock."""
    for _ in range(60):
        proc = run(["dpkg", *args], timeout=300, check=False)
        if proc.returncode == 0 or "locked" not in proc.stderr:
            return proc
        time.sleep(5)
    return proc


def dpkg_status(package):
    """What dpkg knows of the package: "installed", "config-files", "not-installed"..."""
    proc = run(["dpkg-query", "-W", "-f=${db:Status-Status}", package], check=False)
    return proc.stdout.strip() if proc.returncode == 0 else "not-installed"


def installed(package):
    return dpkg_status(package) == "installed"


def deb_paths(deb):
    """Every path in the package's data, as installed (`/usr/...`), with its tar member."""
    data = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], capture_output=True, timeout=60, check=True).stdout
    members = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for m in tar.getmembers():
            name = m.name[2:] if m.name.startswith("./") else m.name
            members["/" + name.rstrip("/") if name not in ("", ".") else "/"] = m
    return members


def parents(paths):
    dirs = {"/"}
    for p in paths:
        while (p := os.path.dirname(p)) != "/":
            dirs.add(p)
    return dirs


def check_contents(name, deb, version):
    """The package's paths are exactly the expected files and their folders; returns them."""
    members = deb_paths(deb)
    if name.endswith("-dbgsym"):
        program = name[: -len("-dbgsym")]
        debug = re.compile(rf"^/usr/lib/debug/(\.build-id/[0-9a-f]{{2}}/[0-9a-f]{{38}}\.debug|"
                           rf"\.dwz/[a-z0-9_-]+/{re.escape(program)}\.debug)$")
        files = [p for p, m in members.items() if not m.isdir()]
        stray = [p for p in files if not debug.match(p) and p != DOC + name]
        if stray or not any(debug.match(p) for p in files):
            raise Failure(f"{name}: unexpected paths {stray} (or no debug file) in {sorted(members)}")
        want = set(files) | parents(files)
    else:
        want = set(EXPECTED[name]) | parents(EXPECTED[name])
    if set(members) != want:
        raise Failure(f"{deb}: paths differ from the expected ones:\n  missing {sorted(want - set(members))}\n"
                      f"  unexpected {sorted(set(members) - want)}")
    for p, m in members.items():
        if m.uname != "root" or m.gname != "root":
            raise Failure(f"{deb}: {p} belongs to {m.uname}:{m.gname}, not root:root")
        if p.startswith("/usr/bin/") and m.mode & 0o7777 != 0o755:
            raise Failure(f"{deb}: {p} has mode {m.mode:o}, not 755")
    fields = {}
    for line in run(["dpkg-deb", "-f", deb]).stdout.splitlines():
        key, sep, value = line.partition(": ")
        if sep and not line.startswith(" "):
            fields[key] = value
    if fields.get("Version") != version:
        raise Failure(f"{deb}: version {fields.get('Version')!r}, but meson.build says {version!r} "
                      "(debian/changelog must follow it)")
    for key, want_name in RELATIONS.get(name, []):
        if not re.search(rf"(^|[ ,|]){re.escape(want_name)}([ (,]|$)", fields.get(key, "")):
            raise Failure(f"{deb}: {key} {fields.get(key)!r} does not name {want_name}")
    with tempfile.TemporaryDirectory(prefix="mosh2-deb-control-") as control:
        run(["dpkg-deb", "-e", deb, control])
        for script in ("preinst", "postinst", "prerm", "postrm"):
            path = os.path.join(control, script)
            if os.path.exists(path) and "update-alternatives" in open(path).read():
                raise Failure(f"{deb}: its {script} calls update-alternatives")
        if name == "mosh2-server":
            check_ufw_profile(deb, control)
    return members


def check_ufw_profile(deb, control):
    """The ufw profile is a conffile (a user's edits survive upgrades) and opens exactly the
    server's default port range (mosh2-server(1), -p)."""
    conffiles = open(os.path.join(control, "conffiles")).read().split() \
        if os.path.exists(os.path.join(control, "conffiles")) else []
    if UFW_PROFILE not in conffiles:
        raise Failure(f"{deb}: {UFW_PROFILE} is not a conffile (conffiles: {conffiles})")
    data = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], capture_output=True, check=True, timeout=120).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        text = tar.extractfile("." + UFW_PROFILE).read().decode()
    profile = configparser.ConfigParser()
    profile.read_string(text)
    if profile.sections() != ["mosh2-server"] or profile["mosh2-server"].get("ports") != "60001:60999/udp":
        raise Failure(f"{deb}: {UFW_PROFILE} is not one [mosh2-server] section with ports=60001:60999/udp:\n{text}")


def named_mosh2():
    """Every path under /etc, /usr and /var whose name says mosh2: what a maintainer
    script could leave behind that the packages' own lists would not show."""
    found = set()
    for top in ("/etc", "/usr", "/var", "/opt"):
        for folder, dirs, files in os.walk(top):
            if folder == "/var/tmp":  # other tests' scratch space
                dirs[:] = []
                continue
            found |= {os.path.join(folder, n) for n in dirs + files if "mosh2" in n}
    return found


def alternatives():
    return run(["update-alternatives", "--get-selections"]).stdout


def session(timeout):
    """`mosh2 --local` from /usr/bin in a tmux pane, with a PATH that has no build folder."""
    home = tempfile.mkdtemp(prefix="mosh2-package-")
    tmux = Tmux(80, 24)
    server_pid = None
    try:
        status_dir = os.path.join(home, "status")
        exit_file = os.path.join(home, "exit")
        env = f"env -i PATH=/usr/bin:/bin HOME={home} SHELL=/bin/sh PS1='$ ' TERM=xterm-256color LANG=C.UTF-8 " \
              f"MOSH2_STATUS_DIR={status_dir}"
        tmux.start(f"{env} /usr/bin/mosh2 --local -- /bin/sh; echo $? > {exit_file}")
        wait_for("the session's prompt", lambda: re.search(r"^[$#] ?$", tmux.screen(), re.M), timeout)
        marker = f"mosh2-package-{os.getpid()}"
        tmux.keys(f"echo {marker}-$((6*7)) $PPID", "Enter")
        m = wait_for("the command's output", lambda: re.search(rf"^{marker}-42 (\d+)\s*$", tmux.screen(), re.M),
                     timeout)
        server_pid = int(m.group(1))
        server_exe = os.path.realpath(f"/proc/{server_pid}/exe")
        if server_exe != "/usr/bin/mosh2-server":
            raise Failure(f"the session's shell runs under {server_exe}, not /usr/bin/mosh2-server")
        pane_pid = int(tmux.run("display-message", "-p", "#{pane_pid}").stdout.strip())
        clients = []
        for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
            try:
                exe = os.path.realpath(f"/proc/{pid}/exe")
            except OSError:
                continue
            if os.path.basename(exe) == "mosh2-client" and descends_from(pid, pane_pid):
                clients.append((pid, exe))
        if [exe for _, exe in clients] != ["/usr/bin/mosh2-client"]:
            raise Failure(f"expected one /usr/bin/mosh2-client below the pane, found {clients}")
        listed = run(["/usr/bin/mosh2-status", "--json"], timeout=20,
                     env={"PATH": "/usr/bin:/bin", "HOME": home, "MOSH2_STATUS_DIR": status_dir})
        sessions = json.loads(listed.stdout).get("sessions", [])
        if not any(s.get("pid") == server_pid and s.get("role") == "server" for s in sessions):
            raise Failure(f"the installed mosh2-status does not list server pid {server_pid}: {listed.stdout}")
        print(f"ok: mosh2 --local from /usr/bin: shell under {server_exe} pid {server_pid}, "
              f"client {clients[0][1]} pid {clients[0][0]}, listed by /usr/bin/mosh2-status --json")
        tmux.keys("exit", "Enter")
        expect_clean_exit(tmux, "mosh2", exit_file, server_pid, timeout, server_timeout=15)
        print("ok: `exit` ended the session; mosh2 exited 0 and the server is gone")
    except Failure as e:
        raise Failure(f"{e}\nscreen:\n{tmux.screen()}") from None
    finally:
        tear_down(tmux, None, server_pid, home)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()
    out = os.path.join(os.path.abspath(args.build), "package-test")
    mine = []
    try:
        if os.geteuid() != 0:
            raise Skip("not root: the test installs the packages with dpkg")
        need("tmux")
        for tool in ("dpkg-buildpackage", "dh", "lintian"):
            need(tool)
        already = [p for p in PACKAGES if installed(p)]
        if already:
            raise Skip(f"{already} already installed here; the test installs and purges its own build")
        if not installed("mosh"):
            raise Failure("Debian's mosh is not installed (tools/install-deps installs it): "
                          "nothing to check the packages against")

        start = time.monotonic()
        proc = run([os.path.join(args.source, "tools", "package"), out], timeout=3000, check=False)
        took = time.monotonic() - start
        if proc.returncode != 0:
            raise Failure(f"tools/package exited {proc.returncode}:\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}")
        for line in proc.stdout.splitlines():
            if line.startswith("package:"):
                print(line)
        print(f"ok: tools/package built and linted the packages in {took:.0f} s")

        debs = {}
        for f in sorted(os.listdir(out)):
            m = re.match(r"^(mosh2[a-z0-9-]*)_([^_]+)_([a-z0-9]+)\.deb$", f)
            if m:
                debs[m.group(1)] = os.path.join(out, f)
        want = set(PACKAGES) | {p + "-dbgsym" for p in PACKAGES if p != "mosh2"}
        if set(debs) != want:
            raise Failure(f"tools/package made {sorted(debs)}, expected {sorted(want)}")
        paths = {}
        for name, deb in debs.items():
            paths[name] = check_contents(name, deb, args.version)
        print(f"ok: every path in the {len(debs)} packages is an expected one, version {args.version}")

        # mosh's own list, then every installed package: no file of ours is theirs.
        files = {p for name in PACKAGES for p, m in paths[name].items() if not m.isdir()}
        mosh_files = {p for p in run(["dpkg", "-L", "mosh"]).stdout.splitlines() if not os.path.isdir(p)}
        if files & mosh_files:
            raise Failure(f"files shared with Debian's mosh: {sorted(files & mosh_files)}")
        owned = run(["dpkg", "-S", *sorted(files)], check=False).stdout
        if owned.strip():
            raise Failure(f"files another package owns already:\n{owned}")
        on_disk = sorted(p for p in files if os.path.lexists(p))
        if on_disk:
            raise Skip(f"files of the packages are on disk already (not from a package): {on_disk}")
        print(f"ok: none of the {len(files)} files is one of mosh's {len(mosh_files)} or another package's")

        everything = {p for name in PACKAGES for p in paths[name]}
        before = {p for p in everything if os.path.lexists(p)}
        selections = alternatives()
        named_before = named_mosh2()
        mine = PACKAGES
        proc = dpkg("-i", *(debs[p] for p in PACKAGES))
        if proc.returncode != 0:
            raise Failure(f"dpkg -i exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
        missing = [p for p in PACKAGES if not installed(p)]
        if missing or not installed("mosh"):
            raise Failure(f"after dpkg -i, not installed: {missing or ['mosh']}")
        absent = sorted(p for p in everything if not os.path.lexists(p))
        if absent:
            raise Failure(f"installed, but not on disk: {absent}")
        print(f"ok: dpkg -i installed {', '.join(PACKAGES)} beside mosh")

        for program in ("mosh2-server", "mosh2-client", "mosh2-status", "mosh2"):
            v = run([f"/usr/bin/{program}", "--version"], timeout=10, check=False)
            if v.returncode != 0 or "mosh2" not in v.stdout or args.version not in v.stdout:
                raise Failure(f"/usr/bin/{program} --version: status {v.returncode}, {v.stdout!r} {v.stderr!r}")
        print(f"ok: /usr/bin/mosh2-server --version (and the other three) say {args.version}")
        session(args.timeout)
        if alternatives() != selections:
            raise Failure("installing the packages changed the alternatives")

        mine = []
        proc = dpkg("--purge", *reversed(PACKAGES))
        if proc.returncode != 0:
            raise Failure(f"dpkg --purge exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
        still = [p for p in PACKAGES if dpkg_status(p) != "not-installed"]
        left = sorted(p for p in (everything - before) | (named_mosh2() - named_before) if os.path.lexists(p))
        if still or left:
            raise Failure(f"after the purge, still known to dpkg: {still}; left on disk: {left}")
        if alternatives() != selections:
            raise Failure("the alternatives differ after the purge")
        print(f"ok: purged; none of the {len(everything - before)} paths the packages brought is left, "
              "nor any new path named mosh2 under /etc, /usr, /var or /opt")
        return 0
    except Skip as e:
        print(f"SKIP: {e}")
        return SKIP
    except (Failure, subprocess.SubprocessError, OSError, ValueError) as e:
        print(f"FAIL: {e}")
        return 1
    finally:
        if mine:
            proc = dpkg("--purge", *reversed(mine))
            print(f"cleanup: dpkg --purge {' '.join(reversed(mine))}: exit {proc.returncode}")


if __name__ == "__main__":
    sys.exit(main())
