#!/usr/bin/python3
"""bench/session_ab.py: CPU per SMTP session of two or more builds, compared
session by session, so a busy machine's drift falls on every variant alike.

    bench/session_ab.py [--kind plain|message] [--sessions N] [--rounds R] NAME=TCPSERVER,SMTPD ...

Each round starts one tcpserver per variant (its own tcpserver and smtpd paths)
under `perf stat -e task-clock`, whose counter is inherited by every process it
starts: tcpserver, the sessions' smtpd and smtpd's forked queue-inject. It runs
N sessions on each, alternating A B A B (the order reversed every other round),
stops the servers and reads each total: CPU µs per session, precise to the
nanosecond where bench/session_cost.py counts clock ticks. Prints each round,
each variant's median and, with two variants, the paired difference per round
(B - A): its median and range say whether a change is beyond the noise.

Kinds: plain (greeting, EHLO, QUIT) and message (one message of ~4 KiB, as
session_cost.py sends it). One `quail init` instance (QUAIL_BIN's programs)
serves every variant; smtpd forks its queue-inject only when ROOT/bin/queue-inject
is the program beside it, so put the SMTPD binaries in QUAIL_BIN (copies under
other names: smtpd.new) for a like-for-like comparison. Needs perf.
"""
import sys
sys.dont_write_bytecode = True
import os
import signal
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
sys.path.insert(0, HERE)
import quailtest as qt  # noqa: E402
import session_cost as sc  # noqa: E402


def start(root, tcpserver, smtpd, out):
    port = qt.free_port()
    p = subprocess.Popen(["perf", "stat", "-x,", "-e", "task-clock", "-o", out, tcpserver, "-c", "10",
                          "127.0.0.1", str(port), smtpd], env=dict(os.environ, QUAIL_ROOT=root),
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sc.wait_listening(port, 30)
    return port, p


def stop(p, out):
    """Stops perf's tcpserver (perf then writes its count); the task-clock in ms."""
    with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
        for child in f.read().split():
            os.kill(int(child), signal.SIGTERM)
    p.wait(30)
    with open(out) as f:
        return [float(line.split(",")[0]) for line in f if ",task-clock," in line][0]


def compare(variants, kind, sessions, rounds):
    q = qt.Instance(prefix="quail-session-ab-")
    qt.register_cleanup(q)
    q.init()
    q.add_user("alice@example.test")
    ctx = sc._context()
    results = {name: [] for name, _, _ in variants}
    tmp = tempfile.mkdtemp(prefix="quail-session-ab-perf-")
    try:
        for r in range(rounds):
            servers = []
            for name, tcpserver, smtpd in variants:
                out = os.path.join(tmp, "%s-%d" % (name, r))
                port, p = start(q.root, tcpserver, smtpd, out)
                servers.append((name, port, p, out))
            order = servers if r % 2 == 0 else servers[::-1]
            for _ in range(sessions):
                for _, port, _, _ in order:
                    sc.one_session(port, kind, ctx)
            time.sleep(0.3)  # the last sessions reaped
            for name, _, p, out in servers:
                # + 1: the readiness probe was a session too (greeting, then EOF)
                results[name].append(stop(p, out) * 1000.0 / (sessions + 1))
            print("round %d: %s" % (r, " ".join("%s %.0f us" % (n, v[-1]) for n, v in results.items())), flush=True)
    finally:
        q.cleanup()
        subprocess.run(["rm", "-rf", tmp])
    for name, v in results.items():
        print("%s %s: CPU median %.0f us/session (rounds: %s)"
              % (name, kind, statistics.median(v), " ".join("%.0f" % x for x in sorted(v))))
    names = list(results)
    if len(names) == 2:
        d = [b - a for a, b in zip(results[names[0]], results[names[1]])]
        print("paired %s - %s: median %+.0f us/session (rounds: %s)"
              % (names[1], names[0], statistics.median(d), " ".join("%+.0f" % x for x in sorted(d))))


def main():
    args = sys.argv[1:]
    kind, sessions, rounds = "plain", 200, 6
    while args and args[0].startswith("--"):
        if args[0] == "--kind" and len(args) > 1 and args[1] in ("plain", "message"):
            kind = args[1]
        elif args[0] == "--sessions" and len(args) > 1:
            sessions = int(args[1])
        elif args[0] == "--rounds" and len(args) > 1:
            rounds = int(args[1])
        else:
            print(__doc__, file=sys.stderr)
            return 100
        args = args[2:]
    variants = []
    for a in args:
        name, _, paths = a.partition("=")
        parts = paths.split(",")
        if not name or len(parts) != 2:
            print(__doc__, file=sys.stderr)
            return 100
        variants.append((name, os.path.abspath(parts[0]), os.path.abspath(parts[1])))
    if not variants:
        print(__doc__, file=sys.stderr)
        return 100
    compare(variants, kind, sessions, rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
