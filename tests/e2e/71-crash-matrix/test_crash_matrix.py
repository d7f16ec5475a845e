"""71-crash-matrix: kill -9 at the queue's fsync, rename, link and unlink points
(issue 18), a bounded subset of tests/long/crash_matrix.py (`make crash-long`).

strace's fault injection kills the program as it enters its Nth call of one
kind (tests/e2e/crashpoints.py): no test hook in quail's code.
- queue-inject of a small message, killed before each of its fsyncs, renames,
  links, unlinks and writes (every point of a clean run), and a message over
  1 MiB killed at random points of its run;
- queue-send with local-spawn's workers, killed at random points of a clean
  run over four messages (one of them bounces).
- remote deliveries (tests/e2e/crashremote.py: two remote domains routed by
  smtproutes to a counting sink, a message for local and remote recipients,
  one recipient refused with 550): remote-deliver's runs alone killed at a
  write of a report or at the socket write before it (the end of DATA), and
  the whole tree (queue-send recording the remote outcomes) killed at random
  fdatasyncs, unlinks, renames and job hand-overs.
After each kill: `quail check` (a killed injector's tmp/ file aside), a clean
drain, and every acknowledged recipient is in its Maildir or was accepted by
the sink (at least once; duplicates are counted, not failed).
"""
import os
import random
import time
import unittest

import quailtest as qt
import crashpoints
import crashremote

qt.require("quail", "quail-init", "quail-user", "quail-check", "queue-inject", "queue-send", "local-spawn",
           "local-deliver", "remote-deliver")
if not os.access("/usr/bin/strace", os.X_OK):
    raise unittest.SkipTest("strace is not installed")

SEED = int(os.environ.get("E2E_SEED", str(int(time.time()))))
DELIVERY_KILLS = int(os.environ.get("E2E_CRASH_DELIVERY_KILLS", "5"))
REMOTE_KILLS = int(os.environ.get("E2E_CRASH_REMOTE_KILLS", "3"))


class MatrixTest(unittest.TestCase):
    """One crash matrix per test (make_matrix), and its verdict."""
    make_matrix = None

    def setUp(self):
        self.m = type(self).make_matrix(seed=SEED)
        self.addCleanup(self.m.cleanup)

    def assert_nothing_lost(self, what, counted=""):
        m = self.m
        qt.note("seed %d: %d kills (%d points not reached), %d acknowledged deliveries%s, %d lost, %d duplicates" %
                (SEED, m.kills, m.not_reached, m.counted, counted, len(m.lost), m.duplicates))
        self.assertEqual(m.lost, [], "acknowledged mail lost after a kill -9 of %s (seed %d)" % (what, SEED))
        self.assertEqual(m.findings, [], "quail check after a kill -9 of %s (seed %d)" % (what, SEED))


class CrashMatrix(MatrixTest):
    make_matrix = crashpoints.Matrix

    def test_queue_inject_killed_at_every_point(self):
        m = self.m
        rng = random.Random(SEED)
        small = m.injection_points(crashpoints.SIZES[0])
        self.assertTrue(any(c == "fsync" for c, _ in small), "no fsync in queue-inject's run? %s" % small)
        for point in small:
            m.kill_injection(point, crashpoints.SIZES[0])
        big = m.injection_points(crashpoints.SIZES[2])
        for point in rng.sample(big, min(3, len(big))):
            m.kill_injection(point, crashpoints.SIZES[2])
        m.finish()
        self.assertGreaterEqual(m.kills, len(small), "points of a clean run were not reached")
        self.assert_nothing_lost("queue-inject")

    def test_queue_send_and_its_workers_killed_at_random_points(self):
        m = self.m
        rng = random.Random(SEED)
        points = m.delivery_points()
        self.assertTrue(any(c in ("fsync", "fdatasync") for c, _ in points), points)
        durable = [p for p in points if p[0] != "write"]
        for point in rng.sample(durable, min(DELIVERY_KILLS, len(durable))):
            m.kill_delivery(point)
        self.assertGreater(m.kills, 0, "no point was reached")
        self.assert_nothing_lost("queue-send")


class RemoteCrashMatrix(MatrixTest):
    make_matrix = crashremote.RemoteMatrix

    def assert_nothing_lost(self, what):
        remote = sum(1 for (n, r), c in self.m.sink.counts().items() if c)
        super().assert_nothing_lost(what, " (%d at the sink)" % remote)
        self.assertGreater(remote, 0, "the sink accepted nothing")

    def test_remote_deliver_killed_around_its_reports(self):
        m = self.m
        rng = random.Random(SEED)
        points, around = m.remote_deliver_points()
        self.assertTrue(any(c == "sendto" for c, _ in points), "no socket write in remote-deliver's run? %s" % points)
        self.assertTrue(any(c == "write" for c, _ in around), "no report written? %s" % points)
        for point in rng.sample(around, min(REMOTE_KILLS, len(around))):
            m.kill_remote_deliver(point)
        self.assertGreater(m.kills, 0, "no point was reached")
        self.assert_nothing_lost("remote-deliver")

    def test_queue_send_killed_while_it_records_remote_outcomes(self):
        m = self.m
        rng = random.Random(SEED)
        points = m.tree_points()
        self.assertTrue(any(c == "fdatasync" for c, _ in points), points)
        durable = [p for p in points if p[0] not in ("write", "sendto")]
        for point in rng.sample(durable, min(REMOTE_KILLS, len(durable))):
            m.kill_tree(point)
        self.assertGreater(m.kills, 0, "no point was reached")
        self.assert_nothing_lost("queue-send and its remote-deliver runs")


class CutJournal(unittest.TestCase):
    def test_a_journal_cut_before_its_first_record_is_not_damage(self):
        # queue-send killed between creating stat/<id> and its first write (found by
        # the crash matrix at its 15th write): the journal never held a record.
        with qt.Instance() as q:
            q.init("mx." + crashpoints.DOMAIN, [crashpoints.DOMAIN])
            code, err = q.queue_inject(qt.make_message(1), qt.envelope(crashpoints.BOB, crashpoints.ALICE))
            self.assertEqual(code, 0, err)
            (name,) = q.queue_entries("todo")
            for torn in (b"", b"quail-stat 1 17"):
                with open(q.path("queue", "stat", name), "wb") as f:
                    f.write(torn)
                r = q.check()
                self.assertEqual(r.returncode, 0, "journal %r beside its message: %s %s" % (torn, r.out, r.err))
            os.rename(q.path("queue", "todo", name), q.path("queue", "pool", name))
            os.unlink(q.path("queue", "mess", name))  # queue-inject's second name: the message is gone
            r = q.check()
            self.assertEqual(r.returncode, 1, r.out + r.err)
            self.assertIn("orphan journal: no message", r.out + r.err)
            q.check(repair=True)
            self.assertEqual(q.queue_entries("stat"), [])


if __name__ == "__main__":
    unittest.main()
