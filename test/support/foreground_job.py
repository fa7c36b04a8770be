#!/usr/bin/env python3
"""Runs a command as a job of its own: a new process group that owns the terminal's
foreground, as an interactive shell's job control would run it. A program that
suspends itself (kill(0, SIGSTOP)) then stops alone, and stays stopped until a test
sends SIGCONT; a tmux pane's own process would be continued by tmux at once.

Usage: foreground_job.py COMMAND [ARGS...]   (execs the command; its status is ours)"""

import os
import signal
import sys

if len(sys.argv) < 2:
    sys.exit("usage: foreground_job.py COMMAND [ARGS...]")
os.setpgid(0, 0)
# Taking the foreground from a background group raises SIGTTOU unless it is ignored.
signal.signal(signal.SIGTTOU, signal.SIG_IGN)
os.tcsetpgrp(0, os.getpgrp())
signal.signal(signal.SIGTTOU, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])
