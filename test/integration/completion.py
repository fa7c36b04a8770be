#!/usr/bin/env python3
"""The bash completion (tools/completion/mosh2.bash) run as bash runs it: each case sets
COMP_WORDS, COMP_CWORD, COMP_LINE and COMP_POINT as readline would for a line, calls the
program's completion function under bash-completion, and compares COMPREPLY.

The option lists are checked against the built programs' --help (options taken as
help_man.py takes them), so that neither can change without the other: every option in
--help is offered (-h aside, --help is), and nothing else is. The values offered after
`--name=` and `--name ` are those --help lists as `--name=a|b|c`.

Usage: completion.py --build DIR --source DIR
Exits 0 when every case matches, 1 with the differences."""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
LONG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
SHORT = re.compile(r"(?<![\w-])-[A-Za-z0-9#@](?![\w-])")
VALUES = re.compile(r"(--[a-z][a-z0-9-]*)=\{?([a-z0-9-]+(?:\|[a-z0-9-]+)*)")
FUNCTIONS = {"mosh2": "_mosh2_launcher", "mosh2-server": "_mosh2_server", "mosh2-client": "_mosh2_client",
             "mosh2-status": "_mosh2_status"}

DRIVER = r'''
source "$1" || exit 3
source "$2" || exit 3
fn=$3 cword=$4 line=$5
shift 5
COMP_WORDS=("$@") COMP_CWORD=$cword COMP_LINE=$line COMP_POINT=${#line}
COMPREPLY=()
"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
'''


class Failure(Exception):
    pass


def comp_words(line):
    """COMP_WORDS and COMP_CWORD for the cursor at the end of line: blanks separate words,
    and '=' and ':' (in COMP_WORDBREAKS) are words of their own."""
    words = []
    for blank_word in line.split(" "):
        parts = [p for p in re.split(r"([=:])", blank_word) if p != ""] or [""]
        words.extend(parts)
    return words, len(words) - 1


def complete(script, env, line):
    program = line.split(" ", 1)[0]
    words, cword = comp_words(line)
    p = subprocess.run(["bash", "-c", DRIVER, "driver", BASH_COMPLETION, script, FUNCTIONS[program], str(cword), line,
                        *words], capture_output=True, text=True, env=env, timeout=30)
    if p.returncode != 0:
        raise Failure(f"{line!r}: bash exited {p.returncode}: {p.stderr!r}")
    return [w for w in p.stdout.split("\n") if w]


def expect(script, env, line, want, exact=True):
    got = complete(script, env, line)
    ok = set(got) == set(want) if exact else set(want) <= set(got)
    if not ok:
        raise Failure(f"{line!r} offered {sorted(got)}; expected {'exactly ' if exact else 'at least '}{sorted(want)}")
    print(f"ok: {line!r} -> {' '.join(sorted(want))}{'' if exact else ' ...'}")


def help_text(build, program):
    p = subprocess.run([os.path.join(build, "tools", program), "--help"], capture_output=True, text=True, timeout=10)
    if p.returncode != 0:
        raise Failure(f"{program} --help exited {p.returncode}")
    return p.stdout


def help_options(text):
    return (set(LONG.findall(text)) | set(SHORT.findall(text))) - {"-h"}


def offered_options(script, env, lines):
    found = set()
    for line in lines:
        found |= {w.rstrip("=") for w in complete(script, env, line)}
    return found


def compare(program, offered, documented):
    if offered != documented:
        raise Failure(f"{program}: completion offers {sorted(offered - documented)} that --help lacks, "
                      f"and lacks {sorted(documented - offered)} from --help")
    print(f"ok: {program}: completion and --help agree on {' '.join(sorted(offered))}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--source", required=True)
    args = ap.parse_args()
    if not os.path.exists(BASH_COMPLETION):
        print(f"FAIL: {BASH_COMPLETION} is missing (tools/install-deps installs bash-completion)")
        return 1
    script = os.path.join(args.source, "tools", "completion", "mosh2.bash")
    home = tempfile.mkdtemp(prefix="mosh2-completion-")
    try:
        os.makedirs(os.path.join(home, ".ssh"), mode=0o700)
        with open(os.path.join(home, ".ssh", "config"), "w") as f:
            f.write("Host testbox-completion\n  HostName 127.0.0.1\n")
        env = dict(os.environ, HOME=home, PATH=os.environ.get("PATH", "/usr/bin:/bin"))
        env.pop("BASH_COMPLETION_USER_FILE", None)

        # Every option of each program's --help, and no other.
        compare("mosh2", offered_options(script, env, ["mosh2 -"]), help_options(help_text(args.build, "mosh2")))
        compare("mosh2-server", offered_options(script, env, ["mosh2-server ", "mosh2-server new -", "mosh2-server relay -"])
                - {"new", "attach", "relay", "stream-relay", "--"},
                help_options(help_text(args.build, "mosh2-server")))
        compare("mosh2-client", offered_options(script, env, ["mosh2-client -"]),
                help_options(help_text(args.build, "mosh2-client")))
        compare("mosh2-status", offered_options(script, env, ["mosh2-status -", "mosh2-status kill -"]),
                help_options(help_text(args.build, "mosh2-status")))

        # The values --help lists, after = and as the next word.
        values = {}
        for name, alternatives in VALUES.findall(help_text(args.build, "mosh2")):
            values.setdefault(name, set()).update(alternatives.split("|"))
        for name in ("--predict", "--family", "--bind-server", "--experimental-remote-ip"):
            if name not in values:
                raise Failure(f"mosh2 --help lists no values for {name}")
        for name, words in sorted(values.items()):
            expect(script, env, f"mosh2 {name}=", words)
            expect(script, env, f"mosh2 {name} ", words)
        expect(script, env, "mosh2 --predict=a", {"adaptive", "always"})
        expect(script, env, "mosh2 --family=prefer-", {"prefer-inet", "prefer-inet6"})

        # Hosts from ~/.ssh/config; options after the host; the command after it.
        expect(script, env, "mosh2 testbox-c", {"testbox-completion"})
        expect(script, env, "mosh2 -p 60001 testbox-c", {"testbox-completion"})
        expect(script, env, "mosh2 box --idle", {"--idle-timeout="})
        expect(script, env, "mosh2 box -p 60001 --pre", {"--predict=", "--predict-overwrite"})
        expect(script, env, "mosh2 box --predict=n", {"never"})
        expect(script, env, "mosh2 box --idle-timeout ", set())
        expect(script, env, "mosh2 box ech", {"echo"}, exact=False)
        expect(script, env, "mosh2 box -p 1 ech", {"echo"}, exact=False)
        expect(script, env, "mosh2 box -- ech", {"echo"}, exact=False)
        expect(script, env, "mosh2 -- testbox-c", {"testbox-completion"})

        # The server's subcommand and options, the status tool's kill.
        expect(script, env, "mosh2-server ", {"new", "attach", "relay", "stream-relay", "--help", "--version"})
        expect(script, env, "mosh2-server relay -", {"-i", "-p", "-f", "--idle-timeout", "--end-token-stdin"})
        expect(script, env, "mosh2-server new --id", {"--idle-timeout"})
        expect(script, env, "mosh2-server new -i l", {"lo"}, exact=False)
        expect(script, env, "mosh2-server new --idle-timeout ", set())
        expect(script, env, "mosh2-status k", {"kill"})
        expect(script, env, "mosh2-status --j", {"--json"})
        expect(script, env, "mosh2-status kill --d", {"--detached-for", "--dry-run", "--dir"})
        expect(script, env, "mosh2-status kill --detached-for ", set())
        return 0
    except (Failure, subprocess.SubprocessError, OSError) as e:
        print(f"FAIL: {e}")
        return 1
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
