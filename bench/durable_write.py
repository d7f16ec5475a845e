#!/usr/bin/python3
"""durable_write: the disk's durable-write limit, the ceiling of every mail system's
fsync'ed queue: one writer doing write 4 KiB + fsync + close + rename + fsync of the
directory, as often as it can. Usage: durable_write.py [DIR] [--seconds S] [--size BYTES].
bench/peers/run.py imports probe(). Python's own cost is a few µs per step; an fsync
costs hundreds, so the figure is the disk's (and the filesystem's journal's), not Python's.
"""
import argparse
import os
import statistics
import sys
import time


def probe(directory, seconds=2.0, size=4096):
    """Durable writes per second in `directory` (files made in a private subdirectory and
    removed afterwards)."""
    work = os.path.join(directory, "durable-write-probe.%d" % os.getpid())
    os.mkdir(work)
    data = b"x" * size
    names = []
    dfd = os.open(work, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
        n = 0
        start = time.monotonic()
        deadline = start + seconds
        while True:
            tmp = os.path.join(work, "tmp.%d" % n)
            final = os.path.join(work, "f.%d" % n)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, final)
            os.fsync(dfd)
            names.append(final)
            n += 1
            now = time.monotonic()
            if now >= deadline:
                return n / (now - start)
    finally:
        os.close(dfd)
        for p in names:
            os.unlink(p)
        for p in os.listdir(work):
            os.unlink(os.path.join(work, p))
        os.rmdir(work)


def probe_median(directory, runs=3, seconds=2.0, size=4096):
    """Median and all values of `runs` probes."""
    values = [probe(directory, seconds, size) for _ in range(runs)]
    return statistics.median(values), values


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", nargs="?", default="/var/tmp")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    med, values = probe_median(a.dir, a.runs, a.seconds, a.size)
    print("%.0f durable writes/s in %s (write %d B + fsync + rename + directory fsync; runs: %s)" %
          (med, a.dir, a.size, ", ".join("%.0f" % v for v in values)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
