#!/usr/bin/python3
"""crash_matrix.py: kill -9 at every fsync, rename, link, unlink and write of
queue-inject and of queue-send with its delivery workers, then at random
points, and count what an acknowledgement promised (issue 18; `make crash-long`).

    tests/long/crash_matrix.py [--kills N] [--seed S] [--minutes M]

First every point of one clean run of each scene (tests/e2e/crashpoints.py),
then random points (scene, call, N) until N kills were done or M minutes have
gone by. Each kill: `quail check`, a clean drain, every acknowledged message
counted in the Maildirs. Prints a progress line every 50 runs and, at the end,
one line of figures; exit 1 when anything acknowledged was lost or quail check
found more than a killed injector's tmp/ file.
"""
import argparse
import os
import random
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import crashpoints  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--minutes", type=float, default=0, help="stop after this long (0: no limit)")
    ap.add_argument("--fresh-every", type=int, default=500, help="a new root after this many runs")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    deadline = time.monotonic() + args.minutes * 60 if args.minutes else None
    totals = {"kills": 0, "runs": 0, "lost": [], "findings": [], "dups": 0, "counted": 0}
    m = None
    started = time.monotonic()

    def fold(m):
        totals["kills"] += m.kills
        totals["lost"] += m.lost
        totals["findings"] += m.findings
        totals["dups"] += m.duplicates
        totals["counted"] += m.counted

    def report(final=False):
        k = totals["kills"] + (m.kills if m else 0)
        lost = len(totals["lost"]) + (len(m.lost) if m else 0)
        counted = totals["counted"] + (m.counted if m else 0)
        dups = totals["dups"] + (m.duplicates if m else 0)
        findings = len(totals["findings"]) + (len(m.findings) if m else 0)
        print("%s: %d runs, %d kills, %d acknowledged deliveries, %d lost, %d duplicates (%.2f per 1,000), "
              "%d check findings, %.0f s, seed %d" %
              ("crash matrix" if final else "progress", totals["runs"], k, counted, lost, dups,
               1000.0 * dups / max(counted, 1), findings, time.monotonic() - started, args.seed), flush=True)

    try:
        plan = []
        m = crashpoints.Matrix(seed=rng.random())
        for size in crashpoints.SIZES:
            plan += [("inject", size, p) for p in m.injection_points(size)]
        delivery = m.delivery_points()
        plan += [("deliver", 0, p) for p in delivery]
        print("points: %d of queue-inject (3 sizes), %d of queue-send and its workers" %
              (len(plan) - len(delivery), len(delivery)), flush=True)
        inj = {s: [p for kind, size, p in plan if kind == "inject" and size == s] for s in crashpoints.SIZES}
        i = 0
        while totals["kills"] + m.kills < args.kills:
            if deadline and time.monotonic() > deadline:
                break
            if i < len(plan):
                kind, size, point = plan[i]
            elif rng.random() < 0.3:
                kind, size = "inject", rng.choice(crashpoints.SIZES)
                point = rng.choice(inj[size])
            else:
                kind, size, point = "deliver", 0, rng.choice(delivery)
            i += 1
            if kind == "inject":
                m.kill_injection(point, size)
            else:
                m.kill_delivery(point)
            totals["runs"] += 1
            if totals["runs"] % 50 == 0:
                report()
            if totals["runs"] % args.fresh_every == 0:
                m.finish()
                fold(m)
                m.cleanup()
                m = crashpoints.Matrix(seed=rng.random())
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
