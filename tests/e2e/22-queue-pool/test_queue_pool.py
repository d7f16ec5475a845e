"""22-queue-pool: spent queue files are parked in queue/pool/ and written over by
the next injection (queue-layout/README.md, "The pool"):

- mail through the running system: finished files land in pool/, later messages
  take their inodes (ids repeat in the log), every message arrives intact and
  once, pool/ never holds more than 100 files, `quail check` finds nothing;
- a message over 128 KiB is unlinked, not parked;
- what an attacker or a mishap could leave in pool/ (a symlink to a file outside,
  a second name of a live queue file, a FIFO) is dropped, never written through,
  and the injection still succeeds;
- a queue without pool/ (made before it existed) works as before;
- one file left under both todo/<id> and mess/<id> (a crash on a filesystem that
  keeps no order) is delivered once and both names go.
"""
import os
import unittest

import quailtest as qt

qt.require("quail", "queue-inject", "queue-send", "sendmail")

DOMAIN = "example.test"
ALICE = "alice@" + DOMAIN
POOL_MAX = 100


def message(n, size=0):
    return qt.make_message(n, to=ALICE, sender="bob@remote.test", size=size)


def subjects(q):
    return sorted(qt.test_number(m) for m in q.maildir_messages(ALICE))


class QueuePool(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.template = qt.TemplateRoot("quail-e2e-22-", "mx." + DOMAIN, [DOMAIN], [ALICE])

    @classmethod
    def tearDownClass(cls):
        cls.template.cleanup()

    def instance(self):
        return self.template.copy(self)

    def inject(self, q, n, size=0):
        code, err = q.queue_inject(message(n, size), qt.envelope("bob@remote.test", ALICE))
        self.assertEqual(code, 0, err)

    def taken_ids(self, q):
        return [l["msg"] for l in q.log_lines("queue-send") if l.get("event") == "taken"]

    def test_spent_files_are_reused_and_every_message_arrives_once(self):
        q = self.instance()
        q.up()
        # In waves, so the pool has files when the next wave is injected.
        total = 0
        for wave in range(4):
            for i in range(30):
                self.inject(q, total + i, size=2000 + 97 * i)
            total += 30
            qt.wait_for(lambda: q.maildir_count(ALICE) == total and q.queue_empty(), 60, "wave %d delivered" % wave)
            self.assertLessEqual(len(q.queue_entries("pool")), POOL_MAX)
        self.assertEqual(subjects(q), list(range(total)))
        ids = self.taken_ids(q)
        self.assertEqual(len(ids), total)
        self.assertEqual(len(set(ids)), total)  # message ids stay unique when files are reused
        inodes = [qt.inode_of(i) for i in ids]
        qt.note("%d of %d inodes seen before" % (len(inodes) - len(set(inodes)), total))
        # Every message is exactly what was sent, with no tail of a longer old one.
        for m in q.maildir_messages(ALICE):
            n = qt.test_number(m)
            self.assertTrue(m.endswith(message(n, 2000 + 97 * (n % 30)).split(b"\n\n", 1)[1]), "message %d" % n)
        q.down()
        r = q.check()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # With queue-send down, the next message is written over a pooled file.
        pooled = q.queue_entries("pool")
        self.assertTrue(pooled)
        self.inject(q, total)
        (qid,) = q.queue_entries("todo")
        self.assertIn(qid, pooled)
        self.assertEqual(sorted(q.queue_entries("pool") + [qid]), sorted(pooled))

    def test_pool_never_grows_past_its_limit(self):
        q = self.instance()
        for i in range(POOL_MAX + 40):
            self.inject(q, i)
        q.up()  # queue-send finds them all at once: nobody injects while it parks
        qt.wait_for(lambda: q.maildir_count(ALICE) == POOL_MAX + 40 and q.queue_empty(), 90, "all delivered")
        self.assertEqual(len(q.queue_entries("pool")), POOL_MAX)

    def test_a_large_message_is_unlinked_not_parked(self):
        q = self.instance()
        q.up()
        self.inject(q, 1, size=200 * 1024)
        qt.wait_for(lambda: q.maildir_count(ALICE) == 1 and q.queue_empty(), 30, "delivery")
        (taken,) = self.taken_ids(q)
        self.assertNotIn(qt.inode_of(taken), q.queue_entries("pool"))
        self.inject(q, 2)
        qt.wait_for(lambda: q.maildir_count(ALICE) == 2 and q.queue_empty(), 30, "delivery")
        self.assertEqual(q.queue_entries("pool"), [qt.inode_of(self.taken_ids(q)[1])])

    def test_unfit_pool_entries_are_dropped_and_never_written_through(self):
        q = self.instance()
        pool = q.path("queue", "pool")
        victim = q.path("victim")
        with open(victim, "wb") as f:
            f.write(b"outside the queue\n")
        os.symlink(victim, os.path.join(pool, "4242"))
        os.mkfifo(os.path.join(pool, "4243"))
        # A live queue file under a second name in pool/.
        self.inject(q, 0)
        (live,) = q.queue_entries("todo")
        os.link(q.path("queue", "todo", live), os.path.join(pool, live))
        for i in range(1, 4):
            self.inject(q, i)
        with open(victim, "rb") as f:
            self.assertEqual(f.read(), b"outside the queue\n")
        self.assertEqual(q.queue_entries("pool"), [])
        self.assertEqual(q.queue_entries("tmp"), [])
        self.assertIn(live, q.queue_entries("todo"))
        self.assertEqual(os.stat(q.path("queue", "todo", live)).st_nlink, 2)  # todo/ and mess/, not pool/
        q.up()
        qt.wait_for(lambda: q.maildir_count(ALICE) == 4 and q.queue_empty(), 30, "4 deliveries")
        self.assertEqual(subjects(q), [0, 1, 2, 3])

    def test_a_queue_without_pool_works_as_before(self):
        q = self.instance()
        os.rmdir(q.path("queue", "pool"))
        q.up()
        for i in range(5):
            self.inject(q, i)
        qt.wait_for(lambda: q.maildir_count(ALICE) == 5 and q.queue_empty(), 30, "5 deliveries")
        self.assertFalse(os.path.exists(q.path("queue", "pool")))
        self.assertEqual(subjects(q), list(range(5)))
        # quail check names it; --repair makes it, and a restarted queue-send parks again.
        r = q.check()
        self.assertEqual(r.returncode, 1)
        self.assertIn("queue/pool", r.out)
        self.assertEqual(q.check(repair=True).returncode, 0, "repair")
        self.assertTrue(os.path.isdir(q.path("queue", "pool")))
        q.down()
        q.up()
        self.inject(q, 5)
        qt.wait_for(lambda: q.maildir_count(ALICE) == 6 and q.queue_empty() and q.queue_entries("pool"), 30,
                    "a parked file after the repair")

    def test_one_file_under_todo_and_mess_is_delivered_once(self):
        # queue-inject leaves every message so (mess/ is its durable name); a crash
        # of the pool's rename on a filesystem without ordering can too.
        q = self.instance()
        self.inject(q, 7)
        (qid,) = q.queue_entries("todo")
        self.assertEqual(os.stat(q.path("queue", "todo", qid)).st_ino, os.stat(q.path("queue", "mess", qid)).st_ino)
        self.assertEqual(q.check().returncode, 0, "a message not yet taken is no finding")
        q.up()
        qt.wait_for(lambda: q.maildir_count(ALICE) >= 1 and q.queue_empty(), 30, "delivery")
        q.down()
        self.assertEqual(subjects(q), [7])
        self.assertEqual(q.queue_entries("todo") + q.queue_entries("mess"), [])


if __name__ == "__main__":
    unittest.main()
