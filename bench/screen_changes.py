#!/usr/bin/env python3
"""Typical discrete screen changes, for the per-change diff-size benchmarks (issue #3).

Each change is a pair of byte strings, both written by a program into an 80x24 terminal:

    setup   puts the terminal in a known state (modes reset, title set, screen cleared,
            then the screen the change starts from);
    change  the change itself, applied as ONE write.

server_compare.py writes them through stock mosh-server and mosh2-server and counts the
UDP bytes each server sends for `change`; bench-emulator runs them through our emulator
and prints the size of `new_frame(screen after setup, screen after change)`.

    screen_changes.py --write DIR   writes DIR/changes.tsv and the blobs it names

changes.tsv has one line per change: name, label, setup file, change file, columns,
rows (tab-separated; the files are relative to DIR).

Python 3 standard library only. Deterministic: the same bytes on every run.
"""

import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAMS = os.path.join(ROOT, "test", "terminal", "programs")
COLS, ROWS = 80, 24  # the program captures were recorded at this size

TITLE = b"\x1b]0;alice@devbox: ~/src/mosh2\x07"
# Every setup starts here, whatever the previous change left behind: main screen,
# synchronized modes off (bracketed paste, mouse, focus), no scrolling region, ASCII
# charsets, default renditions, cursor shown, a fixed title, a cleared screen.
RESET = (b"\x1b[?1049l\x1b[?2004l\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1004l"
         b"\x1b[?1l\x1b>\x1b[?25h\x1b[r\x1b(B\x1b)B\x0f\x1b[0m" + TITLE + b"\x1b[H\x1b[2J")
# Debian's colour bash prompt.
PROMPT = b"\x1b[01;32malice@devbox\x1b[00m:\x1b[01;34m~/src/mosh2\x1b[00m$ "
NL = b"\r\n"  # the programs write with output post-processing off (stty -opost)


def _history():
    """Some shell history: 13 rows, cursor after a prompt on row 14."""
    lines = [
        PROMPT + b"git log --oneline -4",
        b"\x1b[33m8b045af\x1b[m docs/protocol.md: no syslog; slow-link retransmission difference",
        b"\x1b[33m52c8d00\x1b[m Predictive local echo in mosh2-client",
        b"\x1b[33ma72084a\x1b[m Benchmark against the stock server; emulator fast paths",
        b"\x1b[33m4acd60b\x1b[m Interop cells for flood, IPv6, -i lo and port hopping",
        PROMPT + b"git status --short",
        b" \x1b[31mM\x1b[m bench/README.md",
        b" \x1b[31mM\x1b[m bench/server_compare.py",
        b"\x1b[31m??\x1b[m bench/screen_changes.py",
        PROMPT + b"uptime",
        b" 16:25:20 up 29 min,  0 users,  load average: 0.36, 1.28, 1.36",
        PROMPT + b"df -h .",
        b"Filesystem      Size  Used Avail Use% Mounted on",
        b"/dev/vda1        98G   41G   53G  44% /",
    ]
    return NL.join(lines) + NL + PROMPT


def _log_line(i):
    return (b"Nov 25 16:%02d:%02d devbox sshd[%d]: Accepted publickey for alice from 10.0.%d.%d"
            % (i // 60 % 60, i % 60, 4000 + i * 7, i % 10, i * 7 % 10))


def _full_log():
    """A full screen of `tail -f`-like log lines, cursor at the end of the last row."""
    return NL.join(_log_line(i) for i in range(ROWS))


def _ls_color():
    """`ls --color` of a busy directory: 4 columns of coloured names, 22 rows."""
    kinds = [(b"01;34", b""), (b"", b".c"), (b"01;32", b".sh"), (b"", b".h"), (b"01;36", b""),
             (b"", b".md"), (b"01;31", b".tar.gz"), (b"01;35", b".png"), (b"", b".o")]
    stems = [b"build", b"channel", b"crypto", b"datagram", b"display", b"emulator", b"fragment",
             b"fbuf", b"parser", b"predict", b"session", b"tcp", b"util", b"zlib"]
    rows = []
    for r in range(22):
        cells = []
        for c in range(4):
            n = r + 22 * c
            colour, ext = kinds[(n * 5) % len(kinds)]
            name = stems[n % len(stems)] + b"_%d" % n + ext
            cell = (b"\x1b[" + colour + b"m" + name + b"\x1b[0m") if colour else name
            cells.append(cell + b" " * (20 - len(name)))
        rows.append(b"".join(cells).rstrip())
    return b"\x1b[0m" + NL.join(rows) + b"\x1b[m"


def _menu_item(i):
    return (b"  %2d  session-%-12s %2d windows  created Tue Nov 25 %02d:%02d:00 2025"
            % (i, b"%d" % (i * 37 % 101), i % 7 + 1, 8 + i // 3, i * 7 % 60))


def _menu():
    """A list of 18 items under a heading, none selected (a menu, a file manager)."""
    out = [b"\x1b[1m  Select a session to attach to\x1b[0m", b""]
    out += [_menu_item(i) for i in range(18)]
    return NL.join(out) + b"\x1b[H"


def _select(i):
    """Item i's row redrawn in reverse video, full width: the selection bar appears."""
    return b"\x1b[%d;1H\x1b[7m" % (i + 3) + _menu_item(i).ljust(COLS) + b"\x1b[0m\x1b[H"


def _status_line(clock):
    """A tmux-like status line on the bottom row, drawn whole (tmux redraws it whole)."""
    left = b"[main] 0:bash* 1:vim- 2:top"
    right = b"\"devbox\" %s 25-Nov-25" % clock
    line = left + b" " * (COLS - len(left) - len(right)) + right
    return b"\x1b7\x1b[%d;1H\x1b[30;42m" % ROWS + line + b"\x1b[0m\x1b8"


CJK_LINES = [
    "第一章 总则：本规定适用于所有远程终端会话的传输与显示。",
    "日本語のテキスト表示テスト：全角文字と半角文字が混在する行です。",
    "한국어 문장 표시 시험: 넓은 문자가 두 칸을 차지합니다.",
]


def _capture(name):
    path = os.path.join(PROGRAMS, name + ".bytes")
    with open(path, "rb") as f:
        return f.read()


def _redraws(data):
    """Offsets where the capture hides the cursor: the start of each redraw (one step)."""
    return [m.start() for m in re.finditer(rb"\x1b\[\?25l", data)]


def changes():
    """[(name, label, setup, change)], in table order. Captures that are missing are skipped."""
    out = [
        ("echo", "typed character echoed",
         RESET + _history() + b"git sta", b"t"),
        ("command", "command output + new prompt",
         RESET + _history() + b"date", NL + b"Tue Nov 25 16:25:20 UTC 2025" + NL + PROMPT),
        ("ls", "screenful of ls --color",
         RESET + _full_log() + NL + PROMPT + b"ls --color",
         NL + _ls_color() + NL + PROMPT),
        ("scroll", "one line scrolls in at bottom",
         RESET + _full_log(), NL + _log_line(ROWS)),
        ("clear", "clear screen + prompt",
         RESET + _full_log() + NL + PROMPT + b"clear", b"\x1b[H\x1b[2J" + PROMPT),
        ("attr", "one line to reverse video",
         RESET + _menu(), _select(5)),
        ("status", "status line clock tick",
         RESET + _history() + _status_line(b"16:25"), _status_line(b"16:26")),
        ("cjk", "3 lines of CJK text + prompt",
         RESET + _history() + "cat 说明.txt".encode(),
         NL + NL.join(s.encode() for s in CJK_LINES) + NL + PROMPT),
    ]
    try:
        vim = _capture("vim-syntax-scroll")
        starts = _redraws(vim)
        # Redraw 0 is vim's start; 1-4 are Ctrl-F, 5 Ctrl-B, 6-7 Ctrl-E, 8 Ctrl-Y.
        out.append(("vim-pgdn", "vim page down (Ctrl-F)",
                    RESET + vim[:starts[2]], vim[starts[2]:starts[3]]))
        out.append(("vim-line", "vim scrolls one line (Ctrl-E)",
                    RESET + vim[:starts[6]], vim[starts[6]:starts[7]]))
    except (OSError, IndexError):
        pass
    try:
        top = _capture("top")
        starts = _redraws(top)
        # Redraw 6 is the periodic refresh at 08:18:08 (delay 1 s), after all the keys.
        out.append(("top", "top refresh (1 s)",
                    RESET + top[:starts[6]], top[starts[6]:starts[7]]))
    except (OSError, IndexError):
        pass
    return out


def write(directory):
    """Writes changes.tsv and one .setup and one .change file per change into `directory`."""
    os.makedirs(directory, exist_ok=True)
    index = []
    for i, (name, label, setup, change) in enumerate(changes()):
        files = []
        for kind, data in (("setup", setup), ("change", change)):
            fname = f"{i:02d}-{name}.{kind}"
            with open(os.path.join(directory, fname), "wb") as f:
                f.write(data)
            files.append(fname)
        index.append(f"{name}\t{label}\t{files[0]}\t{files[1]}\t{COLS}\t{ROWS}\n")
    with open(os.path.join(directory, "changes.tsv"), "w", encoding="utf-8") as f:
        f.writelines(index)
    return len(index)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", metavar="DIR", required=True, help="directory for changes.tsv and the blobs")
    args = ap.parse_args(argv)
    n = write(args.write)
    print(f"screen_changes: {n} changes in {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
