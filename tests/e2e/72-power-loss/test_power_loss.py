"""72-power-loss: power cuts, not just kill -9 (issue 18), on powerfs.

A kill -9 keeps the page cache, so it never tests an fsync. Here the root lives
on powerfs (tests/e2e/powerfs.py), a FUSE filesystem that keeps only what was
fsync'ed (a file's data by its fsync, a directory's entries by that
directory's fsync: the strict model, ext4 without a journal) and forgets the
rest when the power is "cut". tests/e2e/powercut.py runs the cycle: mail flows,
cut at a random instant, kill everything, remount what survived, count.

- A few cuts under load: every acknowledged message is, for each recipient,
  whole in the Maildir or still owed by the queue; `quail check` finds nothing
  but tmp/ debris; after the last cut the queue drains and every acknowledged
  delivery is there (duplicates counted, not failed).
- The counting can fail: the same run on a powerfs that ignores the fsync of
  queue/todo/, or of the Maildirs' new/, loses acknowledged mail and the count
  says so (a test that cannot fail proves nothing).
The long run is tests/long/power_cut.py (`make power-long`).
"""
import os
import time
import unittest

import quailtest as qt
import powercut

qt.require("quail", "quail-init", "quail-user", "quail-up", "quail-down", "quail-check",
           "queue-inject", "queue-send", "local-spawn", "local-deliver")
WHY = powercut.unavailable()
if WHY:
    raise unittest.SkipTest(WHY)

CUTS = int(os.environ.get("E2E_POWER_CUTS", "3"))
SEED = int(os.environ.get("E2E_SEED", str(int(time.time()))))


class PowerLoss(unittest.TestCase):
    def rig(self, **kw):
        r = powercut.Rig(seed=SEED, **kw)
        self.addCleanup(r.cleanup)
        r.start()
        return r

    def test_power_cuts_under_load_lose_nothing_acknowledged(self):
        r = self.rig()
        for _ in range(CUTS):
            r.cycle(max_seconds=1.5)
        expected, missing, dups = r.drain(180)
        qt.note("seed %d: %d cuts, %d deliveries acknowledged, %d lost, %d duplicates" %
                (SEED, r.cuts, expected, len(r.lost), dups))
        self.assertGreater(expected, 5, "too little mail flowed to mean anything")
        self.assertEqual(r.lost, [], "acknowledged mail lost in a power cut (seed %d)" % SEED)
        self.assertEqual(r.findings, [], "quail check after a power cut (seed %d)" % SEED)
        res = r.q.check()
        self.assertEqual(res.returncode, 0, "quail check after the drain: %s %s" % (res.out, res.err))

    def test_a_message_taken_from_todo_survives_a_later_injections_fsync_of_todo(self):
        # queue-send's take moves todo/<id> to mess/<id>; another injection then
        # fsyncs todo/, which makes the todo/ name's removal durable. Unless mess/
        # was fsync'ed first, a cut leaves the message under no name (strict model).
        r = self.rig()
        with open(os.path.join(r.q.home(powercut.ALICE), ".qmail-defer"), "w") as f:
            f.write("|exit 111\n")
        r.mount.control("sync")
        deferred = "alice-defer@" + powercut.DOMAIN
        self.assertEqual(r.inject(0, (deferred,), 100), 0)
        r.acked[0] = (deferred,)
        qt.wait_for(lambda: not r.q.queue_entries("todo") and r.q.queue_entries("mess"), 30,
                    "queue-send to take the message")
        self.assertEqual(r.inject(1, (powercut.ALICE,), 100), 0)
        r.acked[1] = (powercut.ALICE,)
        r.mount.control("cut")
        r.q.kill_all()
        r.mount.stop()
        r.mount.start()
        r.count_survivors()
        self.assertEqual(r.lost, [], "a message taken by queue-send was lost by the next injection's fsync")

    def test_a_disk_that_ignores_the_fsync_of_todo_loses_mail_and_the_count_sees_it(self):
        r = self.rig(ignore=r"^/root/queue/todo$")
        r.q.down()  # no delivery: the mail waits in todo/
        r.lock = None
        for n in range(5):
            self.assertEqual(r.inject(n, (powercut.ALICE,), 100), 0)
            r.acked[n] = (powercut.ALICE,)
        r.mount.control("cut")
        r.q.kill_all()
        r.mount.stop()
        r.mount.start()
        r.count_survivors()
        self.assertEqual(sorted(n for _, n, _, _ in r.lost), list(range(5)),
                         "without the fsync of todo/, the acknowledged mail should be gone")

    def test_a_disk_that_ignores_the_fsync_of_new_loses_deliveries_and_the_count_sees_it(self):
        r = self.rig(ignore=r"/Maildir/new$")
        r.lock = None
        for n in range(5):
            self.assertEqual(r.inject(n, (powercut.ALICE,), 100), 0)
            r.acked[n] = (powercut.ALICE,)
        qt.wait_for(lambda: r.q.maildir_count(powercut.ALICE) == 5 and not r.q.queue_entries("todo")
                    and not r.q.queue_entries("mess"), 60, "delivery")
        # The next take fsyncs mess/: the five are then gone from the queue for good.
        self.assertEqual(r.inject(5, (powercut.BOB,), 100), 0)
        qt.wait_for(lambda: r.q.maildir_count(powercut.BOB) == 1, 60, "the next delivery")
        r.mount.control("cut")
        r.q.kill_all()
        r.mount.stop()
        r.mount.start()
        r.count_survivors()
        self.assertEqual(sorted(n for _, n, a, _ in r.lost if a == powercut.ALICE), list(range(5)),
                         "without the fsync of new/, delivered mail that left the queue should be gone")


if __name__ == "__main__":
    unittest.main()
