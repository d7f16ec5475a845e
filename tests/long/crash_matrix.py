#!/usr/bin/python3
"""crash_matrix.py: kill -9 at every fsync, rename, link, unlink and write of
queue-inject, of queue-send with its delivery workers and of remote-deliver,
then at random points, and count what an acknowledgement promised (issue 18;
`make crash-long`).

    tests/long/crash_matrix.py [--kills N] [--seed S] [--minutes M]
                               [--scenes inject,deliver,remote,remote-deliver]
    CRASH_KEEP=DIR tests/long/crash_matrix.py ...   (a loss copies its root,
                                                     traces, logs, sink.log to DIR)
    CRASH_DEBUG=1 ...                                (prints each new matrix's
                                                     root and sink port)

Scenes (tests/e2e/crashpoints.py, tests/e2e/crashremote.py): inject (queue-inject
of three sizes), deliver (queue-send and local-spawn's workers over local mail),
remote (the same tree, its remote-deliver runs included, over mail for two
remote domains routed by smtproutes to a counting SMTP sink on 127.0.0.1, with
a message for local and remote recipients, socket writes and job hand-overs
added to the calls) and remote-deliver (remote-deliver's runs alone under
strace, killed at a write of a report or log line or a socket write, queue-send
alive). First every point of one clean run of each scene, then random points
(scene, call, N) until N kills were done or M minutes have gone by; half of
the remote-deliver picks are a report's write or the socket write before it
(the end of DATA). Each kill: `quail check`, a clean drain, every acknowledged
recipient counted in the Maildirs and at the sink, and each recipient that
fails for good (a local program's exit 100, the sink's 550) by its bounce in
the sender's Maildir. Prints a progress line every
50 runs and, at the end, one line of figures and the kills per scene and
program hit; exit 1 when anything acknowledged was lost or quail check found
more than a crash may leave.
"""
import argparse
import collections
import os
import random
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import crashpoints  # noqa: E402
import crashremote  # noqa: E402

SCENES = ("inject", "deliver", "remote", "remote-deliver")
WEIGHTS = {"inject": 0.2, "deliver": 0.3, "remote": 0.25, "remote-deliver": 0.25}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--minutes", type=float, default=0, help="stop after this long (0: no limit)")
    ap.add_argument("--fresh-every", type=int, default=500, help="a new root after this many runs")
    ap.add_argument("--scenes", default=",".join(SCENES), help="a comma-separated subset of " + ",".join(SCENES))
    args = ap.parse_args()
    scenes = [s for s in args.scenes.split(",") if s]
    if not scenes or any(s not in SCENES for s in scenes):
        ap.error("--scenes: a comma-separated subset of " + ",".join(SCENES))
    rng = random.Random(args.seed)
    deadline = time.monotonic() + args.minutes * 60 if args.minutes else None
    totals = {"kills": 0, "runs": 0, "lost": [], "findings": [], "dups": 0, "counted": 0,
              "kills_in": collections.Counter(), "notice_dups": 0}
    m = None
    started = time.monotonic()

    def fold(m):
        totals["kills"] += m.kills
        totals["lost"] += m.lost
        totals["findings"] += m.findings
        totals["dups"] += m.duplicates
        totals["counted"] += m.counted
        totals["kills_in"] += m.kills_in
        totals["notice_dups"] += m.notice_duplicates

    def report(final=False):
        k = totals["kills"] + (m.kills if m else 0)
        lost = len(totals["lost"]) + (len(m.lost) if m else 0)
        counted = totals["counted"] + (m.counted if m else 0)
        dups = totals["dups"] + (m.duplicates if m else 0)
        findings = len(totals["findings"]) + (len(m.findings) if m else 0)
        notice_dups = totals["notice_dups"] + (m.notice_duplicates if m else 0)
        print("%s: %d runs, %d kills, %d acknowledged recipients (deliveries and bounces), %d lost, %d duplicates "
              "(%.2f per 1,000), %d bounces sent again, %d check findings, %.0f s, seed %d" %
              ("crash matrix" if final else "progress", totals["runs"], k, counted, lost, dups,
               1000.0 * dups / max(counted, 1), notice_dups, findings, time.monotonic() - started, args.seed),
              flush=True)
        if final:
            for (scene, prog), k in sorted(totals["kills_in"].items()):
                print("kills in scene %s: %d in %s" % (scene, k, prog), flush=True)

    try:
        plan = []
        m = crashremote.RemoteMatrix(seed=rng.random())
        inj = {}
        delivery = tree = rd = around = []
        if "inject" in scenes:
            for size in crashpoints.SIZES:
                inj[size] = m.injection_points(size)
                plan += [("inject", size, p) for p in inj[size]]
        if "deliver" in scenes:
            delivery = m.delivery_points()
            plan += [("deliver", 0, p) for p in delivery]
        if "remote" in scenes:
            tree = m.tree_points()
            plan += [("remote", 0, p) for p in tree]
        if "remote-deliver" in scenes:
            rd, around = m.remote_deliver_points()
            plan += [("remote-deliver", 0, p) for p in rd]
        print("points: %d of queue-inject (3 sizes), %d of queue-send and its workers, %d of the remote tree, "
              "%d of remote-deliver (%d around its reports)" %
              (sum(len(v) for v in inj.values()), len(delivery), len(tree), len(rd), len(around)), flush=True)
        i = 0
        while totals["kills"] + m.kills < args.kills:
            if deadline and time.monotonic() > deadline:
                break
            if i < len(plan):
                kind, size, point = plan[i]
            else:
                kind = rng.choices(scenes, [WEIGHTS[s] for s in scenes])[0]
                size = 0
                if kind == "inject":
                    size = rng.choice(crashpoints.SIZES)
                    point = rng.choice(inj[size])
                elif kind == "deliver":
                    point = rng.choice(delivery)
                elif kind == "remote":
                    point = rng.choice(tree)
                else:
                    point = rng.choice(around if rng.random() < 0.5 else rd)
            i += 1
            if kind == "inject":
                m.kill_injection(point, size)
            elif kind == "deliver":
                m.kill_delivery(point)
            elif kind == "remote":
                m.kill_tree(point)
            else:
                m.kill_remote_deliver(point)
            totals["runs"] += 1
            if totals["runs"] % 50 == 0:
                report()
            if totals["runs"] % args.fresh_every == 0:
                m.finish()
                fold(m)
                m.cleanup()
                m = crashremote.RemoteMatrix(seed=rng.random())
                if os.environ.get("CRASH_DEBUG"):
                    print("new matrix: root %s sink port %d" % (m.q.root, m.sink.peer.port), flush=True)
    finally:
        if m:
            m.finish()
            fold(m)
            m.cleanup()
            m = None
    report(final=True)
    for p, n, a in totals["lost"][:20]:
        print("lost: message %d for %s, kill at %s" % (n, a, p))
    for p, line in totals["findings"][:20]:
        print("quail check at %s: %s" % (p, line))
    return 1 if totals["lost"] or totals["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
