#!/usr/bin/python3
"""05-admin, queue tools: `quail queue` says why each recipient waits, and show,
retry, delete (by id, --all-to, --bounce), hold and release act on a running
queue-send through queue/cmd/ (queue-layout/README.md, "Queue tools"); a command
given while queue-send is down is carried out when it starts; sendmail -q is
`quail queue retry all`.

alice's .qmail says `|exit 111`, so her mail is deferred and waits; the retry unit
is the real one (a minute), so an attempt within seconds is one a command asked for.
"""
import sys
sys.dont_write_bytecode = True
import os
import re
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import quailtest as qt  # noqa: E402

qt.require("quail", "quail-init", "quail-user", "quail-up", "quail-down", "quail-queue", "queue-inject",
           "queue-send", "local-deliver", "sendmail")

ALICE, BOB, CAROL = "alice@example.test", "bob@example.test", "carol@other.test"


class QueueTools(unittest.TestCase):
    def setUp(self):
        self.q = qt.Instance(prefix="quail-e2e-qt-")
        self.addCleanup(self.q.cleanup)
        self.q.init("mx.example.test", ["example.test", "other.test"])
        for u in (ALICE, BOB, CAROL):
            self.q.add_user(u)
        for u in (ALICE, CAROL):
            self.defer(u)
        self.q.up()

    def defer(self, addr, on=True):
        path = os.path.join(self.q.home(addr), ".qmail")
        with open(path, "w") as f:
            f.write("|exit 111\n" if on else "./Maildir/\n")
        os.chmod(path, 0o644)

    def inject(self, *rcpts, n=1):
        code, err = self.q.queue_inject(qt.make_message(n), qt.envelope(BOB, *rcpts))
        self.assertEqual(code, 0, err)
        return re.search(r"msg=(\w+)", err.decode() if isinstance(err, bytes) else err).group(1)

    def attempts(self, mid, to=ALICE):
        return [l for l in self.q.log_lines("queue-send")
                if l.get("msg") == mid and l.get("event") == "delivery" and l.get("to") == "<%s>" % to]

    def deferred(self, mid, to=ALICE):
        qt.wait_for(lambda: self.attempts(mid, to) and os.path.exists(self.q.path("queue", "stat", qt.inode_of(mid))),
                    30, "a deferral of %s" % mid)

    def queue(self, *args, check=True):
        return self.q.quail("queue", *args, check=check)

    def test_list_says_why_each_recipient_waits(self):
        mid = self.inject(ALICE, BOB)
        self.deferred(mid)
        qt.wait_for(lambda: self.q.maildir_count(BOB) == 1, 30, "bob's copy")
        out = self.queue().out
        lines = out.splitlines()
        self.assertTrue(lines[0].startswith(mid + "  "), out)
        alice = next(l for l in lines if l.strip().startswith("<%s>" % ALICE))
        self.assertRegex(alice, r"deferred: next attempt \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; last deferral "
                                r"\d{4}-\d\d-\d\dT[0-9:]+Z: .*111")
        self.assertIn("<%s>  delivered" % BOB, out)
        self.assertEqual(lines[-1], "1 message in the queue.")
        # mailq lists the same message by the same id.
        self.assertIn(mid, self.q.run(["mailq"]).out)

    def test_show_gives_envelope_headers_and_states(self):
        mid = self.inject(ALICE)
        self.deferred(mid)
        out = self.queue("show", mid).out
        self.assertIn("id: %s\n" % mid, out)
        self.assertIn("sender: <%s>\n" % BOB, out)
        self.assertRegex(out, r"\n  <%s>  deferred: " % re.escape(ALICE))
        self.assertIn("\nheaders:\nReceived: (quail-queue %s invoked" % mid, out)
        self.assertIn("Subject: test 1\n", out)
        self.assertNotIn("message number", out)  # the header only, never the body
        r = self.queue("show", mid[:12] + "999999999", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no message", r.err)
        r = self.queue("show", "457", check=False)
        self.assertEqual(r.returncode, 100)
        self.assertIn("not a message id", r.err)

    def test_retry_tries_again_now_and_sendmail_q_does_the_same(self):
        mid = self.inject(ALICE)
        self.deferred(mid)
        r = self.queue("retry", mid)
        self.assertEqual(r.out, "Message %s: its waiting recipients are tried again now.\n" % mid)
        qt.wait_for(lambda: len(self.attempts(mid)) >= 2, 20, "a second attempt (next one due in a minute)")
        r = self.q.run(["sendmail", "-q"])
        self.assertEqual((r.returncode, r.out), (0, ""))
        qt.wait_for(lambda: len(self.attempts(mid)) >= 3, 20, "a third attempt after sendmail -q")
        self.defer(ALICE, False)
        self.assertEqual(self.queue("retry", "all").out, "Every waiting recipient is tried again now.\n")
        qt.wait_for(lambda: self.q.maildir_count(ALICE) == 1 and self.q.queue_empty(), 20, "delivery after retry all")
        self.assertEqual(self.queue().out, "The queue is empty.\n")

    def test_hold_keeps_a_message_until_release(self):
        mid = self.inject(ALICE)
        self.deferred(mid)
        r = self.queue("hold", mid)
        self.assertIn("Message %s held" % mid, r.out)
        inode = qt.inode_of(mid)
        self.assertEqual(self.q.queue_entries("hold"), [inode])
        self.assertNotIn(inode, self.q.queue_entries("mess"))
        out = self.queue().out
        self.assertIn("HELD", out.splitlines()[0])
        self.assertIn("held: nothing is tried until quail queue release " + mid, out)
        self.assertIn(mid + "!", self.q.run(["mailq"]).out)
        self.assertEqual(self.q.check().returncode, 0, "quail check after hold")  # its journal is no orphan
        # Held, it is not tried, also across a restart and a retry all.
        seen = len(self.attempts(mid))
        self.q.quail("down")
        self.q.up()
        self.queue("retry", "all")
        r = self.queue("retry", mid, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("is held", r.err)
        self.assertEqual(len(self.attempts(mid)), seen)
        self.defer(ALICE, False)
        r = self.queue("release", mid)
        self.assertEqual(r.out, "Message %s released: queue-send delivers it now.\n" % mid)
        qt.wait_for(lambda: self.q.maildir_count(ALICE) == 1 and self.q.queue_empty(), 20, "delivery after release")
        self.assertEqual(self.q.queue_entries("hold"), [])
        r = self.queue("release", mid, check=False)
        self.assertEqual(r.returncode, 1)

    def test_delete_without_and_with_a_bounce(self):
        quiet = self.inject(ALICE, n=1)
        loud = self.inject(ALICE, n=2)
        self.deferred(quiet)
        self.deferred(loud)
        self.assertEqual(self.queue("delete", quiet).out, "Message %s deleted; no notice is sent.\n" % quiet)
        self.assertEqual(self.queue("delete", loud, "--bounce").out,
                         "Message %s deleted; the sender gets a failure notice.\n" % loud)
        bounces = qt.wait_for(lambda: self.q.maildir_messages(BOB), 20, "the failure notice to bob")
        qt.wait_for(self.q.queue_empty, 20, "an empty queue")
        self.assertEqual(len(bounces), 1)
        self.assertIn(b"Deleted from the queue by the postmaster", bounces[0])
        self.assertIn(b"Subject: test 2", bounces[0])
        self.assertEqual(self.q.maildir_count(ALICE), 0)
        cmds = [l for l in self.q.log_lines("queue-send") if l.get("event") == "command"]
        self.assertEqual([(c["command"], c["result"]) for c in cmds],
                         [("delete " + quiet, "deleted"), ("delete %s bounce" % loud, "deleted")])

    def test_delete_all_to_a_domain_keeps_the_other_recipients(self):
        mid = self.inject(ALICE, CAROL)
        self.deferred(mid, CAROL)
        r = self.queue("delete", "--all-to", "Other.TEST")
        self.assertEqual(r.out, "Every recipient at other.test deleted; no notice is sent.\n")
        out = qt.wait_for(lambda: "failed" in self.queue("show", mid).out and self.queue("show", mid).out, 20,
                          "carol failed")
        self.assertRegex(out, r"<%s>  failed \(sender notified\): Deleted from the queue" % re.escape(CAROL))
        self.assertRegex(out, r"<%s>  deferred" % re.escape(ALICE))
        self.defer(ALICE, False)
        self.queue("retry", mid)
        qt.wait_for(lambda: self.q.maildir_count(ALICE) == 1 and self.q.queue_empty(), 20, "alice's delivery")
        self.assertEqual(self.q.maildir_count(CAROL), 0)
        self.assertEqual(self.q.maildir_count(BOB), 0)  # no notice without --bounce

    def test_a_command_given_while_queue_send_is_down_runs_when_it_starts(self):
        mid = self.inject(ALICE)
        self.deferred(mid)
        self.q.quail("down")
        r = self.queue("hold", mid)
        self.assertIn("queue-send is not running", r.out)
        self.assertEqual(len(self.q.queue_entries("cmd")), 1)
        self.q.up()
        qt.wait_for(lambda: self.q.queue_entries("hold") == [qt.inode_of(mid)], 20, "the hold carried out at start")
        self.assertEqual(self.q.queue_entries("cmd"), [])

    def test_usage(self):
        r = self.queue("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("quail queue delete --all-to DOMAIN", r.out)
        for args in (["frobnicate"], ["show"], ["hold", "a", "b"], ["retry", "--bounce", "all"]):
            r = self.queue(*args, check=False)
            self.assertEqual(r.returncode, 100, args)
            self.assertIn("usage:", r.err)


if __name__ == "__main__":
    unittest.main()
