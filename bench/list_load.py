"""bench/list_load.py: a mailing list with 100,000 subscribers (issue 12), for
bench/run.py. The subscriber buckets are written directly in the format of
queue-layout/lists.md (100,000 `quail list add` runs would measure process starts),
then timed:
  - `quail list add` of one new subscriber (the whole command: quail, quail-list,
    the user lookup, one bucket of ~400 lines rewritten and fsync'ed), median of 5;
  - list-post handing one post to the queue (run as local-deliver would, with the
    message on stdin): every bucket read, ONE queue entry with 100,000 recipients
    written and fsync'ed, seq updated; median of 3. queue-send is not running, so
    the time is list-post's alone.
Options (environment): BENCH_LIST_SUBSCRIBERS (100000).
"""
import os
import statistics
import subprocess
import time

import quailtest as qt

SUBS = int(os.environ.get("BENCH_LIST_SUBSCRIBERS", "100000"))


def fnv1a(s):
    h = 2166136261
    for b in s.lower().encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def fill(listdir, n):
    buckets = {}
    now = int(time.time())
    for i in range(n):
        a = "subscriber%06d@list.example" % i
        buckets.setdefault(fnv1a(a) % 256, []).append(a)
    for b, addrs in buckets.items():
        with open(os.path.join(listdir, "subscribers", "%02x" % b), "w") as f:
            f.writelines("+ %d 0 0 0 0 %s\n" % (now, a) for a in sorted(addrs))


def bench_list(rows, say):
    if qt.missing("quail-list", "list-post"):
        rows.append(("list of %d: add one subscriber" % SUBS, "not measured", "quail-list is not built"))
        return
    say("bench: a list of %d subscribers..." % SUBS)
    with qt.Instance(prefix="quail-bench-list-") as q:
        q.init("mx.example.test", ["example.test"])
        q.add_user("alice@example.test", "alice-secret")
        q.quail("list", "create", "alice-big@example.test", "--prefix", "[big]")
        listdir = os.path.join(q.home("alice@example.test"), "lists", "big")
        fill(listdir, SUBS)
        adds = []
        for i in range(5):
            t = time.monotonic()
            q.quail("list", "add", "alice-big@example.test", "new%d@list.example" % i)
            adds.append(time.monotonic() - t)
        post = b"From: <bob@example.test>\nSubject: to many\n\n" + b"a post of one line\n"
        env = q.env({"SENDER": "bob@example.test"})
        posts = []
        for i in range(3):
            t = time.monotonic()
            r = subprocess.run([q.path("bin", "list-post"), listdir], input=post, env=env, capture_output=True)
            posts.append(time.monotonic() - t)
            if r.returncode != 0:
                raise RuntimeError("list-post exited %d: %s" % (r.returncode, r.stdout.decode().strip()))
        size = max(os.path.getsize(q.path("queue", "todo", f)) for f in q.queue_entries("todo"))
        with open(os.path.join(listdir, "seq")) as f:
            seq = f.read().strip()
    rows.append(("list of %d subscribers: `quail list add` one subscriber" % SUBS,
                 "%.1f ms" % (statistics.median(adds) * 1000),
                 "median of 5, whole command (min %.1f ms)" % (min(adds) * 1000)))
    rows.append(("list of %d subscribers: list-post hands one post to the queue" % SUBS,
                 "%.0f ms" % (statistics.median(posts) * 1000),
                 "median of 3; one queue entry of %.1f MB; seq %s" % (size / 1e6, seq)))
