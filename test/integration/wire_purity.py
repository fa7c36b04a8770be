#!/usr/bin/env python3
"""Wire purity against the stock peer: records a live session between a mosh2 program and
the stock Mosh 1.4 one (test/conformance/record-captures, through the capturing relay),
then walks every datagram of it with the session key (test/conformance/wire-walk):
toward a stock client, mosh2-server sends no field outside Mosh 1.4's schema; toward a
stock server, mosh2-client adds only its announcement, and does announce.

    wire_purity.py --record RECORD --walk WALK (--server PROG | --client PROG) [--lossy]
"""

import argparse
import os
import subprocess
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--record", required=True)
    ap.add_argument("--walk", required=True)
    who = ap.add_mutually_exclusive_group(required=True)
    who.add_argument("--server", help="a mosh2-server to pair with the stock client")
    who.add_argument("--client", help="a mosh2-client to pair with the stock server")
    ap.add_argument("--lossy", action="store_true", help="record through loss, duplication, reordering")
    args = ap.parse_args()

    name = "lossy" if args.lossy else "basic"
    with tempfile.TemporaryDirectory(prefix="mosh2-wire-") as out:
        cmd = [sys.executable, args.record, "--out", out, "--only", name]
        cmd += ["--server", args.server] if args.server else ["--client", args.client]
        rec = subprocess.run(cmd, stdin=subprocess.DEVNULL, timeout=240)
        if rec.returncode != 0:
            print(f"wire-purity: recording failed ({rec.returncode})", file=sys.stderr)
            return 1
        capture = os.path.join(out, f"session-{name}.json")
        walk = [args.walk, capture] + (["--allow-offer"] if args.client else [])
        res = subprocess.run(walk, capture_output=True, text=True, timeout=60)
        sys.stdout.write(res.stdout)
        sys.stderr.write(res.stderr)
        if res.returncode != 0:
            print("wire-purity: FAILED", file=sys.stderr)
            return 1
    print("wire-purity: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
