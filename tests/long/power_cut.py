#!/usr/bin/python3
"""power_cut.py: power cuts under load on powerfs, counted (issue 18;
`make power-long`).

    tests/long/power_cut.py [--cuts N] [--model strict|ordered] [--seed S] [--minutes M]

Each cut (tests/e2e/powercut.py): mail flows for a random time of up to
--max-seconds, the power goes, everything is killed, the filesystem boots on
what was fsync'ed, every acknowledged message must be in its Maildirs or owed
by the queue, `quail check` runs, quail starts again. Every --per-root cuts the
queue drains, duplicates are counted, and a new root begins. Prints a progress
line per root and one line of figures at the end; exit 1 when anything
acknowledged was lost or quail check found more than tmp/ debris.
"""
import argparse
import os
import random
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import powercut  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cuts", type=int, default=1000)
    ap.add_argument("--model", choices=("strict", "ordered"), default="strict")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--minutes", type=float, default=0, help="stop after this long (0: no limit)")
    ap.add_argument("--per-root", type=int, default=10)
    ap.add_argument("--max-seconds", type=float, default=2.0)
    args = ap.parse_args()
    why = powercut.unavailable()
    if why:
        sys.exit("power_cut.py: " + why)
    rng = random.Random(args.seed)
    deadline = time.monotonic() + args.minutes * 60 if args.minutes else None
    cuts = expected = dups = 0
    lost, findings = [], []
    started = time.monotonic()
    while cuts < args.cuts and not (deadline and time.monotonic() > deadline):
        rig = powercut.Rig(model=args.model, seed=rng.random())
        try:
            rig.start()
            for _ in range(min(args.per_root, args.cuts - cuts)):
                rig.cycle(max_seconds=args.max_seconds)
                if deadline and time.monotonic() > deadline:
                    break
            e, _, d = rig.drain(300)
            expected, dups, cuts = expected + e, dups + d, cuts + rig.cuts
            lost += rig.lost
            findings += rig.findings
        finally:
            rig.cleanup()
        print("progress: %d cuts (%s), %d acknowledged deliveries, %d lost, %d duplicates, %d check findings, %.0f s"
              % (cuts, args.model, expected, len(lost), dups, len(findings), time.monotonic() - started), flush=True)
    print("power cuts: %d cuts (model %s), %d acknowledged deliveries, %d lost, %d duplicates (%.2f per 1,000), "
          "%d check findings, %.0f s, seed %d" % (cuts, args.model, expected, len(lost), dups,
                                                   1000.0 * dups / max(expected, 1), len(findings),
                                                   time.monotonic() - started, args.seed))
    for cut, n, a, why in lost[:20]:
        print("lost: message %d for %s at cut %d: %s" % (n, a, cut, why))
    for cut, line in findings[:20]:
        print("quail check after cut %d: %s" % (cut, line))
    return 1 if lost or findings else 0


if __name__ == "__main__":
    sys.exit(main())
