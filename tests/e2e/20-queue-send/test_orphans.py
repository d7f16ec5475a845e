"""20-queue-send/test_orphans: messages a queue-inject left in mess/ without a todo/
name are found by a running queue-send (queue-layout/README.md, "Orphans").

A real instance (`quail init`, `quail up`) with QUAIL_RETRY_SCALE, so the walk
of mess/ comes every second and a file is old enough after 0.2 s. The orphan is
made by the real queue-inject, killed by strace as it enters its rename into
todo/ (after its link into mess/): what e2e 70 saw once in six runs.
- the orphan is delivered exactly once, queue-send never restarted;
- a todo/ name that comes late (the tmp/ name renamed into todo/, the trigger
  pulled, as a queue-inject the walk judged dead would) for a message the walk
  took is dropped, whether the message is still being delivered or is done:
  one delivery;
- a queue-inject that is only slow between its link and its rename (strace
  holds it there) is not taken from under it: it commits, one delivery;
- an orphan whose envelope asks for hold (a milter's quarantine) goes to hold/,
  never to the mailbox.
"""
import os
import shutil
import time
import unittest

import quailtest as qt

qt.require("quail", "quail-init", "quail-user", "quail-up", "quail-down", "queue-inject", "queue-send",
           "local-deliver")

DOMAIN = "example.test"
ALICE = "alice@" + DOMAIN
SCALE = {"QUAIL_RETRY_SCALE": "300"}  # the walk every 300 s / 300 = 1 s, orphans older than 0.2 s
RENAMES = "rename,renameat,renameat2"


class Orphans(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not shutil.which("strace"):
            raise unittest.SkipTest("strace is not installed")
        cls.template = qt.TemplateRoot("quail-e2e-orphans-", "mx." + DOMAIN, [DOMAIN], [ALICE])

    @classmethod
    def tearDownClass(cls):
        cls.template.cleanup()

    def instance(self, qmail=None):
        q = self.template.copy(self)
        if qmail:
            with open(os.path.join(q.home(ALICE), ".qmail"), "w") as f:
                f.write(qmail)
        q.up(env=SCALE)
        (self.scheduler,) = qt.wait_for(lambda: q.pids("queue-send"), 30, "queue-send")
        return q

    def inject(self, q, n, inject, env_bytes=None):
        """queue-inject under strace, `inject` applied at its first rename (into
        todo/: the instance's pool/ is empty, so no rename takes a pooled file)."""
        argv = ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=" + RENAMES,
                "-e", "inject=%s:%s:when=1" % (RENAMES, inject), qt.bin_path("queue-inject")]
        return qt.run_with_envelope(argv, qt.make_message(n, to=ALICE), env_bytes or qt.envelope("bob@" + DOMAIN, ALICE),
                                    env=q.env(), timeout=60)

    def orphan(self, q, n, env_bytes=None):
        """A queue-inject killed between its link into mess/ and its rename: the
        file's id, and its tmp/ name (the killed writer's)."""
        code, err = self.inject(q, n, "signal=SIGKILL", env_bytes)
        self.assertNotEqual(code, 0, "queue-inject was not killed: " + err)
        (ino,) = q.queue_entries("mess")
        self.assertEqual(q.queue_entries("todo"), [])
        (tmp,) = q.queue_entries("tmp")
        self.assertEqual(os.stat(q.path("queue", "tmp", tmp)).st_ino, int(ino))
        return ino, q.path("queue", "tmp", tmp)

    def late_todo(self, q, ino, tmp):
        """What the writer's step 6 and 8 would do: rename into todo/, pull the trigger."""
        os.rename(tmp, q.path("queue", "todo", ino))
        fd = os.open(q.path("queue", "lock", "trigger"), os.O_WRONLY | os.O_NONBLOCK)
        os.write(fd, b"\0")
        os.close(fd)

    def orphan_lines(self, q, result):
        return [l for l in q.log_lines("queue-send") if l.get("event") == "orphan" and l.get("result") == result]

    def numbers(self, q):
        return sorted(qt.test_number(m) for m in q.maildir_messages(ALICE))

    def assert_once(self, q, n):
        # One more walk of mess/ must not deliver it again.
        time.sleep(1.5)
        self.assertEqual(self.numbers(q), [n])
        self.assertTrue(q.queue_empty(), "queue not empty: todo=%s mess=%s" %
                        (q.queue_entries("todo"), q.queue_entries("mess")))
        self.assertEqual(q.pids("queue-send"), [self.scheduler], "queue-send was restarted")

    def test_orphan_in_mess_is_delivered_once_without_a_restart(self):
        q = self.instance()
        ino, _ = self.orphan(q, 1)
        qt.wait_for(lambda: self.numbers(q) == [1], 10, "the orphan in alice's Maildir")
        (line,) = self.orphan_lines(q, "taken")
        self.assertEqual(line["file"], "mess/" + ino)
        self.assertEqual(str(qt.inode_of(line["msg"])), ino)
        self.assert_once(q, 1)

    def test_late_todo_name_while_the_orphan_is_delivered_is_dropped(self):
        # alice's delivery takes 2 s: the todo/ name comes while it runs.
        q = self.instance(qmail="|sleep 2\n./Maildir/\n")
        ino, tmp = self.orphan(q, 2)
        qt.wait_for(lambda: self.orphan_lines(q, "taken"), 10, "the walk to take the orphan")
        self.late_todo(q, ino, tmp)
        qt.wait_for(lambda: self.orphan_lines(q, "late todo"), 10, "the late todo/ name dropped")
        self.assertEqual(self.numbers(q), [], "delivered before the todo/ name came: not the case tested")
        qt.wait_for(lambda: self.numbers(q) == [2], 10, "the orphan in alice's Maildir")
        self.assert_once(q, 2)

    def test_late_todo_name_after_the_orphan_is_done_is_dropped(self):
        q = self.instance()
        ino, tmp = self.orphan(q, 3)
        qt.wait_for(lambda: self.numbers(q) == [3] and not q.queue_entries("mess"), 10, "the orphan delivered")
        self.late_todo(q, ino, tmp)
        qt.wait_for(lambda: self.orphan_lines(q, "late todo"), 10, "the late todo/ name dropped")
        self.assertEqual(q.queue_entries("todo"), [])
        self.assert_once(q, 3)

    def test_slow_queue_inject_is_not_taken_from_under_it(self):
        q = self.instance()
        # Held 2.5 s at its rename: at least two walks see its file in mess/ alone.
        code, err = self.inject(q, 4, "delay_enter=2500000")
        self.assertEqual(code, 0, err)
        qt.wait_for(lambda: self.numbers(q) == [4], 10, "the message in alice's Maildir")
        self.assertEqual(self.orphan_lines(q, "taken"), [], "taken as an orphan while its writer lived")
        self.assert_once(q, 4)

    def test_an_orphan_queued_on_hold_goes_to_hold_not_to_the_mailbox(self):
        q = self.instance()
        quarantined = b"Fbob@" + DOMAIN.encode() + b"\0Xhold=quarantine\0T" + ALICE.encode() + b"\0\0"
        ino, _ = self.orphan(q, 5, quarantined)
        qt.wait_for(lambda: q.queue_entries("hold") == [ino], 10, "the orphan in hold/")
        self.assertTrue(self.orphan_lines(q, "taken"))
        time.sleep(1.5)  # one more walk
        self.assertEqual(self.numbers(q), [], "a quarantined orphan was delivered")
        self.assertEqual(q.queue_entries("mess"), [])


if __name__ == "__main__":
    unittest.main()
