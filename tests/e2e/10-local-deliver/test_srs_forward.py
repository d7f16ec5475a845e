"""local-deliver's SRS (man/local-deliver.8, "SRS: forwards to other domains",
"SRS0 recipients"), on test_local_deliver's hand-made root with a key in
control/srs/key: a forward to another domain is queued with an SRS0 sender at the
forwarding recipient's domain, a forward to a local address keeps the sender, the
null sender and our own senders stay, a sender too long for a 64-octet SRS0 local
part stays (logged); mail for a good SRS0 address goes to the original sender
with its null sender; a forged one fails with 5.7.1."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_local_deliver import Root, make_message  # noqa: E402

import quailtest as qt  # noqa: E402


class SrsForwardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        qt.require("local-deliver", "queue-inject")

    def setUp(self):
        self.r = Root()
        self.addCleanup(self.r.cleanup)
        os.makedirs(os.path.join(self.r.path, "control/srs"))
        with open(os.path.join(self.r.path, "control/srs/key"), "wb") as f:
            f.write(os.urandom(32))
        self.r.write("mail/example.test/alice/.qmail-fwd", "&carol@example.org\n&bob@example.test\n")

    def by_recipients(self):
        return {tuple(rcpts): (sender, msg) for sender, rcpts, msg in self.r.queued()}

    def srs_events(self, logs, action):
        return [e for e in logs if e.get("event") == "srs" and e.get("action") == action]

    def test_forward_to_another_domain_leaves_from_an_srs0_address(self):
        rc, out, logs = self.r.deliver("alice-fwd@example.test", make_message())
        self.assertEqual(rc, 0, out)
        q = self.by_recipients()
        self.assertEqual(len(q), 2, q)  # the local copy and the remote one, apart
        self.assertEqual(q[("bob@example.test",)][0], "bob@example.org")
        srs = q[("carol@example.org",)][0]
        self.assertTrue(srs.startswith("SRS0="), srs)
        self.assertTrue(srs.endswith("=bob=example.org@example.test"), srs)
        self.assertEqual(len(srs.split("@")[0]), 5 + 20 + 1 + len("bob=example.org"))
        self.assertIn(b"Delivered-To: alice-fwd@example.test\n", q[("carol@example.org",)][1])
        ev = self.srs_events(logs, "rewrite")
        self.assertEqual([(e["from"], e["srs"]) for e in ev], [("<bob@example.org>", "<%s>" % srs)])

    def test_null_own_and_overlong_senders_stay(self):
        long_sender = "x" * 40 + "@example.org"
        for sender in ("", "alice@example.test", long_sender):
            rc, out, logs = self.r.deliver("alice-fwd@example.test", make_message(), sender=sender)
            self.assertEqual(rc, 0, out)
            q = self.by_recipients()
            self.assertEqual(len(q), 1, (sender, q))  # one injection: nothing to rewrite
            self.assertEqual(list(q.values())[0][0], sender)
            self.assertEqual(self.srs_events(logs, "skip") != [], sender == long_sender, logs)
            for n in os.listdir(os.path.join(self.r.path, "queue/todo")):
                os.unlink(os.path.join(self.r.path, "queue/todo", n))

    def test_srs0_address_returns_to_the_original_sender(self):
        self.assertEqual(self.r.deliver("alice-fwd@example.test", make_message())[0], 0)
        srs = self.by_recipients()[("carol@example.org",)][0]
        for n in os.listdir(os.path.join(self.r.path, "queue/todo")):
            os.unlink(os.path.join(self.r.path, "queue/todo", n))
        bounce = make_message("failure notice")
        rc, out, logs = self.r.deliver(srs.upper().replace("@EXAMPLE.TEST", "@example.test"), bounce, sender="")
        self.assertEqual(rc, 0, out)
        self.assertIn("original sender bob@example.org", out)
        (sender, rcpts, msg), = self.r.queued()
        self.assertEqual((sender, rcpts), ("", ["bob@example.org"]))
        self.assertIn(b"\ndelivered-to: srs0=", msg.lower())  # a loop is caught like any other
        self.assertEqual([e["to"] for e in self.srs_events(logs, "return")], ["<bob@example.org>"])
        cookie = srs.split("=")[1]
        forged = srs.replace(cookie, cookie[:-1] + ("a" if cookie[-1] != "a" else "b"))
        rc, out, logs = self.r.deliver(forged, bounce, sender="")
        self.assertEqual(rc, 100, out)
        self.assertTrue(out.endswith("(#5.7.1)\n"), out)
        self.assertEqual(len(self.r.queued()), 1)  # nothing more queued


if __name__ == "__main__":
    unittest.main()
