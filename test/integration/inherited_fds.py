"""The session's program inherits no descriptor of mosh2-server's (issue 10): every
descriptor the server holds (UDP socket, pty master copy, status directory, control
socket, timer and epoll descriptors, the release pipe) is close-on-exec. The program,
started by a live session (mosh2-client in tmux), lists /proc/self/fd and writes each
descriptor's target to a file; apart from 0, 1 and 2 (its terminal) only the directory
it is listing may be open. Fails with the list otherwise. Every wait is bounded."""

import argparse
import os
import re
import sys
import tempfile

from interop import Failure, Tmux, need, start_server, tear_down, wait_for

LISTER = r'''
import os, sys
fds = {}
for name in os.listdir("/proc/self/fd"):
    try:
        fds[int(name)] = os.readlink(f"/proc/self/fd/{name}")
    except OSError:
        fds[int(name)] = "(closed while listing)"
with open(sys.argv[1] + ".tmp", "w") as f:
    for fd in sorted(fds):
        f.write(f"{fd} {fds[fd]}\n")
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
'''


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    args = ap.parse_args()
    need("tmux")
    home = tempfile.mkdtemp(prefix="mosh2-fds-")
    env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="xterm-256color", HOME=home,
               SHELL="/bin/sh", MOSH2_STATUS_DIR=os.path.join(home, "status"))
    lister = os.path.join(home, "lister.py")
    open(lister, "w").write(LISTER)
    out = os.path.join(home, "fds")
    client = os.path.join(args.build, "tools", "mosh2-client")
    tmux = Tmux(80, 24)
    server_pid = None
    try:
        port, key, server_pid = start_server("mosh2", args.build, env,
                                             command=("sh", "-c", f"python3 {lister} {out}; sleep 30"))
        tmux.start(f"env MOSH_KEY={key} MOSH2_STATUS_DIR={env['MOSH2_STATUS_DIR']} {client} 127.0.0.1 {port}")
        listing = wait_for("the program's descriptor list", lambda: os.path.exists(out) and open(out).read(), 20)
        extra = []
        for line in listing.splitlines():
            fd, target = line.split(" ", 1)
            if int(fd) in (0, 1, 2):
                if not target.startswith("/dev/pts/"):
                    raise Failure(f"descriptor {fd} is {target}, not the session's terminal")
                continue
            if re.fullmatch(r"/proc/\d+/fd", target) or target == "(closed while listing)":
                continue  # the directory being listed (listdir closes it before readlink)
            extra.append(line)
        if extra:
            raise Failure("the program inherited descriptors of the server: " + "; ".join(extra))
        print("the program holds only its terminal (0, 1, 2):\n" + listing.strip())
        return 0
    except Failure as e:
        print(f"FAIL: {e}")
        return 1
    finally:
        tear_down(tmux, None, server_pid, home)


if __name__ == "__main__":
    sys.exit(main())
