"""20-queue-send: damaged numbers in the queue are damage like any other (issue 16).

- A journal `T` time past what quail can schedule (2^33 s; INT64_MAX, above it,
  20+ digits, the fuzzer's 9700000100700000200) is a damaged record: queue-send
  logs event=journal result=rewritten, keeps the records before it, and delivers
  the recipient at once (it has no earlier T) instead of wrapping the time.
- A `T` time later than now (a clock stepped back) does not hold the recipient
  until queuelifetime: it is tried at once.
- A 20-digit name past 2^64 - 1 in todo/ is no queue file: queue-send neither
  stops nor stalls on it and delivers the rest.
Uses test_queue_send's Root: its own root, real queue-inject, local-deliver, queue-send.
"""
import sys
sys.dont_write_bytecode = True
import os
import time
import unittest

from test_queue_send import BIN, NEEDED, Root, wait_for

ALICE = "alice@example.test"


class JournalNumbersTest(unittest.TestCase):
    def setUp(self):
        missing = [p for p in NEEDED if not os.access(os.path.join(BIN, p), os.X_OK)]
        if missing:
            raise unittest.SkipTest("program(s) not built: %s (looked in %s)" % (", ".join(missing), BIN))

    def root(self):
        r = Root()
        self.addCleanup(r.cleanup)
        return r

    def test_t_time_past_the_schedulable_range_is_salvaged_and_delivered(self):
        r = self.root()
        birth = time.time_ns() - 10**9
        times = ["9700000100700000200", "9223372036854775807", "9223372036854775808",
                 "18446744073709551616", "123456789012345678901234", "8589934593"]
        ids = {r.craft("mess", "bob@example.test", [ALICE], birth, "T 0 %s busy (#4.2.1)\n" % t): t
               for t in times}
        r.start()
        wait_for(lambda: all(r.events(msg=q, event="done") for q in ids), 20, "every message done")
        for q, t in ids.items():
            with self.subTest(t_time=t):
                self.assertTrue(r.events(msg=q, event="journal", result="rewritten"), r.log_text())
                self.assertEqual([e["result"] for e in r.events(msg=q, event="delivery")], ["delivered"])
        self.assertEqual(len(r.mailbox("alice")), len(times))
        wait_for(r.queue_empty, 10, "an empty queue")
        self.assertIsNone(r.proc.poll())

    def test_t_time_in_the_future_does_not_hold_the_recipient(self):
        r = self.root()
        birth = time.time_ns() - 10**9
        in_a_year = time.time_ns() // 10**9 + 365 * 86400
        qid = r.craft("mess", "bob@example.test", [ALICE], birth, "T 0 %d busy (#4.2.1)\n" % in_a_year)
        r.start()
        # Before the fix the next attempt was birth + queuelifetime, a week away.
        wait_for(lambda: r.events(msg=qid, event="done"), 20, "event=done")
        self.assertFalse(r.events(msg=qid, event="journal"))  # a sound record, kept
        self.assertEqual(len(r.mailbox("alice")), 1)

    def test_queue_name_past_uint64_max_is_not_a_queue_file(self):
        r = self.root()
        stray = r.path("queue", "todo", "99999999999999999999")
        with open(stray, "wb") as f:
            f.write(b"not a queue file\n")
        r.start()
        qid = r.inject("bob@example.test", [ALICE])
        wait_for(lambda: r.events(msg=qid, event="done"), 20, "event=done")
        self.assertEqual(len(r.mailbox("alice")), 1)
        self.assertIsNone(r.proc.poll(), "queue-send exited: " + r.log_text())
        self.assertTrue(os.path.exists(stray))  # not ours to remove: quail check reports it
        self.assertEqual(r.stop(), 0)


if __name__ == "__main__":
    unittest.main()
