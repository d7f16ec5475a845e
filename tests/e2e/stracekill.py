"""stracekill: kill -9 a program at its Nth system call of one kind with
strace's fault injection, and read what a trace says (the crash matrix,
tests/e2e/crashpoints.py and crashremote.py).

`strace -f -e inject=fsync:signal=SIGKILL:when=N` kills a process as it enters
its Nth fsync, before the call runs (strace counts each system call, and each
process, on its own). A clean run under `strace -e trace=...` lists the points
(call, N); a killed run stops at one of them.
"""
import collections
import os
import re

CALLS = ("write", "pwrite64", "ftruncate", "fsync", "fdatasync", "rename", "renameat", "renameat2",
         "link", "linkat", "unlink", "unlinkat")
# Traced beside the calls, never killed at: which program each pid runs.
LINEAGE = ("execve", "clone", "clone3", "fork", "vfork")


def strace_argv(out, kill=None, calls=CALLS):
    """strace tracing `calls` into `out`; kill=(call, n): SIGKILL at the nth `call`."""
    argv = ["strace", "-f", "-q", "-o", out, "-e", "trace=" + ",".join(calls + LINEAGE), "-e", "signal=none"]
    if kill:
        argv += ["-e", "inject=%s:signal=SIGKILL:when=%d" % kill]
    return argv


def points_of(trace, calls=CALLS):
    """[(call, n)] for n up to the most calls any one process made."""
    per = collections.Counter()
    for line in open(trace, errors="replace"):
        m = re.match(r"(\d+) +(\w+)\(", line)
        if m and m.group(2) in calls:
            per[(m.group(1), m.group(2))] += 1
    most = collections.Counter()
    for (_, call), c in per.items():
        most[call] = max(most[call], c)
    return sorted((call, n) for call, c in most.items() for n in range(1, c + 1))


def killed(trace, call):
    """Whether a process of the trace was killed entering `call`: strace notes the
    death, unless it was the last process (strace then dies of the same signal
    before it writes more than the call's line, which ends in "= ?")."""
    try:
        with open(trace, errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        return False
    return "killed by SIGKILL" in text or re.search(r"^\d+ +(%s\(|<\.\.\. %s resumed>).*= \?$" % (call, call),
                                                    text, re.M) is not None


def program_killed(trace):
    """The program the kill hit: the last execve of the killed pid, or of the
    process it was forked from ("?" when the trace does not say)."""
    progs = {}
    with open(trace, errors="replace") as f:
        for line in f:
            m = re.match(r'(\d+) +execve\("([^"]*)"', line)
            if m:
                progs[m.group(1)] = os.path.basename(m.group(2))
            m = re.match(r"(\d+) +(?:(?:clone3?|v?fork)\(|<\.\.\. (?:clone3?|v?fork) resumed>).*= (\d+)$", line)
            if m:
                progs[m.group(2)] = progs.get(m.group(1), "?")
            m = re.match(r"(\d+) +(\+\+\+ killed by SIGKILL|(\w+\(|<\.\.\. \w+ resumed>).*= \?$)", line)
            if m and not re.match(r"\d+ +(<\.\.\. )?(exit|execve)", line):
                return progs.get(m.group(1), "?")
    return "?"
