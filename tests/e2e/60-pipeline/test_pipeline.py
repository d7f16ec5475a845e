"""60-pipeline: the whole local pipeline, sendmail -> queue-inject -> queue-send ->
local-deliver -> Maildir, on one fresh `quail init` root shared by the tests of the
class (they use distinct mailboxes and numbers, and the last one checks the queue).

1,000 messages to one virtual user arrive exactly once, byte-identical apart from
the trace fields quail adds; extension addresses follow .qmail-ext and
.qmail-ext-default / .qmail-default; a permanent failure bounces to the (local)
sender as an RFC 3464 report; `quail check` is clean; `grep msg=<id>` in log/
follows a message into queue-send's log.
"""
import email
import email.policy
import os
import re
import time
import unittest

import quailtest as qt

qt.require("quail", "quail-init", "quail-user", "quail-up", "quail-down", "quail-check",
           "sendmail", "queue-inject", "queue-send", "local-deliver")

DOMAIN = "example.test"
ALICE = "alice@" + DOMAIN
BOB = "bob@" + DOMAIN
COUNT = int(os.environ.get("E2E_PIPELINE_COUNT", "1000"))


def queue_id(message):
    """The message id in queue-inject's Received: line (quail-queue <id> invoked by ...)."""
    for v in qt.header(message, "Received"):
        m = re.search(rb"quail-queue (\w+)", v)
        if m:
            return m.group(1).decode()
    return None


def make_maildir(path):
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)


class Pipeline(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.q = qt.Instance()
        try:
            cls.q.init("mx." + DOMAIN, [DOMAIN])
            cls.q.add_user(ALICE, "alice-secret")
            cls.q.add_user(BOB, "bob-secret")
            home = cls.q.home(ALICE)
            # alice-foo: .qmail-foo; alice-bar-<anything>: .qmail-bar-default;
            # alice-<anything else>: .qmail-default; alice-fail: a permanent failure.
            for name, line, box in ((".qmail-foo", "./Maildir-foo/\n", "Maildir-foo"),
                                    (".qmail-bar-default", "./Maildir-bar/\n", "Maildir-bar"),
                                    (".qmail-default", "./Maildir-default/\n", "Maildir-default"),
                                    (".qmail-fail", "|exit 100\n", None)):
                with open(os.path.join(home, name), "w") as f:
                    f.write(line)
                os.chmod(os.path.join(home, name), 0o644)
                if box:
                    make_maildir(os.path.join(home, box))
            cls.q.up(env={"QUAIL_RETRY_SCALE": "600"})
        except BaseException:
            cls.q.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()

    def send(self, n, to, sender=BOB, args=None, **kw):
        msg = qt.make_message(n, to=to, sender=sender, **kw)
        r = self.q.sendmail(args if args is not None else ["-i", "-f", sender, to], msg)
        self.assertEqual(r.returncode, 0, "sendmail %d to %s exited %d: %s" % (n, to, r.returncode, r.err))
        return msg

    # ------------------------------------------------------------------ tests

    def test_1_thousand_messages_arrive_once_and_intact(self):
        sent = {}
        failures = []

        def one(n):
            msg = qt.make_message(n, to=ALICE, sender=BOB, size=300 + (n * 37) % 3000)
            r = self.q.sendmail(["-i", "-f", BOB, ALICE], msg)
            if r.returncode != 0:
                failures.append((n, r.returncode, r.err.strip()))
            sent[n] = msg
        start = time.monotonic()
        qt.run_parallel(one, range(COUNT), concurrency=8)
        injected = time.monotonic() - start
        self.assertEqual(failures, [], "sendmail failed for some messages")
        qt.wait_for(lambda: self.q.maildir_count(ALICE) >= COUNT, 300,
                    "%d messages in %s/new (have %d)" % (COUNT, ALICE, self.q.maildir_count(ALICE)))
        # Let the queue drain so a late duplicate would show.
        qt.wait_for(lambda: not self.q.queue_entries("todo") and not self.q.queue_entries("mess"), 60,
                    "the queue to drain")
        elapsed = time.monotonic() - start
        got = {}
        for m in self.q.maildir_messages(ALICE, subdirs=("new",)):
            got.setdefault(qt.test_number(m), []).append(m)
        dups = {n: len(v) for n, v in got.items() if len(v) > 1}
        self.assertEqual(dups, {}, "messages delivered more than once")
        self.assertEqual(sorted(got), sorted(sent), "set of delivered messages")
        bad = [n for n in sent if qt.strip_trace(got[n][0]) != qt.strip_trace(sent[n])]
        if bad:
            n = bad[0]
            self.fail("%d message(s) altered beyond trace fields, e.g. #%d:\n--- sent\n%r\n--- delivered\n%r" %
                      (len(bad), n, sent[n][:600], got[n][0][:600]))
        # Every delivered copy carries the trace quail promises.
        m = got[0][0]
        self.assertTrue(qt.header(m, "Return-Path"), "no Return-Path in delivered message")
        self.assertTrue(qt.header(m, "Delivered-To"), "no Delivered-To in delivered message")
        self.assertEqual(qt.header(m, "Return-Path")[0], b"<" + BOB.encode() + b">")
        qt.note("%d messages injected in %.1f s, delivered in %.1f s" % (COUNT, injected, elapsed))

    def test_2_extension_addresses(self):
        cases = [(5001, "alice-foo@" + DOMAIN, "Maildir-foo"),
                 (5002, "alice-bar-baz@" + DOMAIN, "Maildir-bar"),
                 (5003, "alice-bar-qux@" + DOMAIN, "Maildir-bar"),
                 (5004, "alice-other@" + DOMAIN, "Maildir-default"),
                 (5005, "ALICE-Foo@" + DOMAIN.upper(), "Maildir-foo")]
        for n, to, _ in cases:
            self.send(n, to)
        for n, to, box in cases:
            qt.wait_for(lambda: any(qt.test_number(m) == n for m in self.q.maildir_messages(ALICE, box)), 60,
                        "message %d to %s in %s" % (n, to, box))
        numbers = {box: sorted(qt.test_number(m) for m in self.q.maildir_messages(ALICE, box))
                   for box in ("Maildir-foo", "Maildir-bar", "Maildir-default")}
        self.assertEqual(numbers, {"Maildir-foo": [5001, 5005], "Maildir-bar": [5002, 5003],
                                   "Maildir-default": [5004]})
        self.assertFalse([m for m in self.q.maildir_messages(ALICE) if (qt.test_number(m) or 0) >= 5000],
                         "an extension message also landed in the default Maildir")
        m = self.q.maildir_messages(ALICE, "Maildir-foo")[0]
        self.assertEqual([v.lower() for v in qt.header(m, "Delivered-To")][:1], [b"alice-foo@" + DOMAIN.encode()])

    def test_3_permanent_failure_bounces_to_local_sender(self):
        before = len(self.q.maildir_messages(BOB))
        self.send(6001, "alice-fail@" + DOMAIN, sender=BOB)
        qt.wait_for(lambda: len(self.q.maildir_messages(BOB)) > before, 60, "a bounce in bob's Maildir")
        bounces = self.q.maildir_messages(BOB)[before:]
        self.assertEqual(len(bounces), 1, "bounces: %r" % bounces)
        raw = bounces[0]
        self.assertEqual(qt.header(raw, "Return-Path"), [b"<>"], "a bounce has the null return path")
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual(msg.get_param("report-type"), "delivery-status")
        parts = [p for p in msg.walk()]
        dsn = [p for p in parts if p.get_content_type() == "message/delivery-status"]
        self.assertEqual(len(dsn), 1, "one message/delivery-status part: %s" % [p.get_content_type() for p in parts])
        blocks = dsn[0].get_payload()
        self.assertIsInstance(blocks, list)
        per_rcpt = [b for b in blocks if b.get("Final-Recipient")]
        self.assertEqual(len(per_rcpt), 1, "per-recipient blocks: %s" % [dict(b.items()) for b in blocks])
        r = per_rcpt[0]
        self.assertIn("alice-fail@" + DOMAIN, r["Final-Recipient"].lower())
        self.assertEqual(r["Action"].strip().lower(), "failed")
        self.assertRegex(r["Status"].strip(), r"^5\.\d{1,3}\.\d{1,3}$")
        # The returned original (headers at least) names our message.
        self.assertIn(b"X-Quail-Test: 6001", raw)

    def test_4_grep_follows_a_message_into_queue_send_log(self):
        self.send(7001, ALICE)
        m = qt.wait_for(lambda: [x for x in self.q.maildir_messages(ALICE) if qt.test_number(x) == 7001], 60,
                        "message 7001")[0]
        qid = queue_id(m)
        self.assertTrue(qid, "no quail-queue id in the Received: line:\n%r" % m[:400])
        pat = re.compile(r"(^|\s)msg=%s(\s|$)" % qid)

        def lines():
            return [rec for rec in self.q.log_lines() if pat.search(rec["_line"])]
        qt.wait_for(lambda: [r for r in lines() if r["_file"] == "queue-send.log"], 20,
                    "a queue-send.log line with msg=%s (log files: %s)" % (qid, os.listdir(self.q.path("log"))))

    def test_5_odd_messages_arrive_byte_identical(self):
        # Big, binary-ish, long lines, no final newline, a lone dot line (sendmail -i).
        cases = {
            8001: qt.make_message(8001, to=ALICE, size=8 * 1024 * 1024),
            8002: qt.make_message(8002, to=ALICE, body=bytes(range(1, 256)).replace(b"\n", b"") * 40 + b"\n"),
            8003: qt.make_message(8003, to=ALICE, body=b"x" * 20000 + b"\n"),
            8004: qt.make_message(8004, to=ALICE, body=b"no final newline"),
            8005: qt.make_message(8005, to=ALICE, body=b"before\n.\nafter a lone dot\n..two dots\n"),
            8006: qt.make_message(8006, to=ALICE, body=b""),
        }
        for n, msg in cases.items():
            r = self.q.sendmail(["-i", "-f", BOB, ALICE], msg)
            self.assertEqual(r.returncode, 0, "sendmail #%d: %s" % (n, r.err))

        def arrived():
            got = {qt.test_number(m): m for m in self.q.maildir_messages(ALICE) if (qt.test_number(m) or 0) >= 8000}
            return got if len(got) == len(cases) else None
        got = qt.wait_for(arrived, 60, "the odd messages")
        for n, msg in cases.items():
            if not msg.endswith(b"\n"):
                msg += b"\n"  # a missing final line end is supplied, as qmail-inject does
            with self.subTest(n=n):
                self.assertEqual(qt.strip_trace(got[n]), qt.strip_trace(msg),
                                 "#%d differs (%d vs %d bytes)" % (n, len(got[n]), len(msg)))

    def test_9_check_clean_at_end(self):
        qt.wait_for(lambda: not self.q.queue_entries("todo") and not self.q.queue_entries("mess"), 60,
                    "the queue to drain")
        qt.wait_for(lambda: not self.q.queue_entries("stat"), 10, "stat/ to be empty")
        r = self.q.check()
        self.assertEqual(r.returncode, 0, "quail check: %s %s" % (r.out, r.err))


if __name__ == "__main__":
    unittest.main()
