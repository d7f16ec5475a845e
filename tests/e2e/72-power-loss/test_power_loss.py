"""72-power-loss: power cuts, not just kill -9 (issue 18), on powerfs.

A kill -9 keeps the page cache, so it never tests an fsync. Here the root lives
on powerfs (tests/e2e/powerfs.py), a FUSE filesystem that keeps only what was
fsync'ed (a file's data by its fsync, a directory's entries by that
directory's fsync: the strict model, ext4 without a journal) and forgets the
rest when the power is "cut". tests/e2e/powercut.py runs the cycle: mail flows,
cut at a random instant, kill everything, remount what survived, count.

- A message queue-send has taken from todo/ survives the next injection and a
  cut (a take by bare rename lost it once the next injection fsync'ed todo/).
- The counting can fail: on a powerfs that ignores the fsync of queue/mess/,
  or of the Maildirs' new/, acknowledged mail is lost and the count says so
  (a test that cannot fail proves nothing).
- A few cuts under load: every acknowledged message is, for each recipient,
  whole in the Maildir or still owed by the queue; `quail check` finds only
  what a crash may leave (tmp/ debris...); after the last cut the queue drains
  and every acknowledged delivery is there (duplicates counted, not failed).
One root serves every test (a cut and a boot start each afresh). The long run
is tests/long/power_cut.py (`make power-long`).
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

CUTS = int(os.environ.get("E2E_POWER_CUTS", "2"))
SEED = int(os.environ.get("E2E_SEED", str(int(time.time()))))
ALICE, BOB = powercut.ALICE, powercut.BOB


class PowerLoss(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.r = powercut.Rig(seed=SEED)
        try:
            cls.r.start()
            with open(os.path.join(cls.r.q.home(ALICE), ".qmail-defer"), "w") as f:
                f.write("|exit 111\n")
            cls.r.mount.control("sync")
        except BaseException:
            cls.r.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.r.cleanup()

    def setUp(self):
        r = self.r
        r.acked, r.lost, r.findings = {}, [], []
        r.mount.control("ignore")
        r.q.up(env=r.env)

    def inject(self, n, rcpt):
        self.assertEqual(self.r.inject(n, (rcpt,), 100), 0)
        self.r.acked[n] = (rcpt,)

    def test_a_message_taken_from_todo_survives_a_later_injection_and_a_cut(self):
        # The take drops the todo/ name; another injection then fsyncs a queue
        # directory. When the take was a bare rename and injections fsync'ed todo/,
        # the removal could be durable without the new name (strict model).
        r = self.r
        self.inject(1000, "alice-defer@" + powercut.DOMAIN)  # stays in mess/
        qt.wait_for(lambda: not r.q.queue_entries("todo") and r.q.queue_entries("mess"), 30,
                    "queue-send to take the message")
        self.inject(1001, ALICE)
        r.cut_and_boot()
        r.count_survivors()
        self.assertEqual(r.lost, [], "a message taken by queue-send was lost by the next injection's fsync")
        with open(os.path.join(r.q.home(ALICE), ".qmail-defer"), "w") as f:
            f.write("./Maildir/\n")  # it may go now

    def test_a_disk_that_ignores_the_fsync_of_mess_loses_mail_and_the_count_sees_it(self):
        # queue-inject's durable name is mess/<id> (todo/<id> only tells queue-send).
        r = self.r
        r.q.down()  # no delivery: the mail waits, not taken
        r.mount.control("ignore ^/root/queue/mess$")
        for n in range(2000, 2003):
            self.inject(n, ALICE)
        r.cut_and_boot()
        r.count_survivors()
        # Not always all three: a file taken from pool/ may still have a durable
        # name in mess/ from its last message, which then brings the new one back.
        self.assertTrue(r.lost, "without the fsync of mess/, the acknowledged mail should be gone")
        self.assertLessEqual({n for _, n, _, _ in r.lost}, set(range(2000, 2003)))

    def test_a_disk_that_ignores_the_fsync_of_new_loses_deliveries_and_the_count_sees_it(self):
        r = self.r
        r.mount.control("ignore /Maildir/new$")
        before = r.q.maildir_count(BOB)
        for n in range(3000, 3003):
            self.inject(n, BOB)
        qt.wait_for(lambda: r.q.maildir_count(BOB) == before + 3 and not r.q.queue_entries("todo")
                    and not r.q.queue_entries("mess"), 60, "delivery")
        # The next injection fsyncs mess/: the three are then gone from the queue for good.
        self.inject(3003, ALICE)
        qt.wait_for(lambda: not r.q.queue_entries("todo") and not r.q.queue_entries("mess"), 60,
                    "the next injection's delivery")
        r.cut_and_boot()
        r.count_survivors()
        self.assertEqual(sorted(n for _, n, a, _ in r.lost if a == BOB), list(range(3000, 3003)),
                         "without the fsync of new/, delivered mail that left the queue should be gone")

    def test_power_cuts_under_load_lose_nothing_acknowledged(self):
        r = self.r
        r.next_n = 10000
        for _ in range(CUTS):
            r.cycle(max_seconds=1.5)
        expected, missing, dups = r.drain(180)
        qt.note("seed %d: %d cuts, %d deliveries acknowledged, %d lost, %d duplicates" %
                (SEED, CUTS, expected, len(r.lost), dups))
        self.assertGreater(expected, 5, "too little mail flowed to mean anything")
        self.assertEqual(r.lost, [], "acknowledged mail lost in a power cut (seed %d)" % SEED)
        self.assertEqual(r.findings, [], "quail check after a power cut (seed %d)" % SEED)
        res = r.q.check()
        self.assertEqual(res.returncode, 0, "quail check after the drain: %s %s" % (res.out, res.err))


if __name__ == "__main__":
    unittest.main()
