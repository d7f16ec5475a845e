"""25-dsn: delivery status notifications (RFC 3461/3464/6533) from queue-send.

Over SMTP (a `quail init` root, `quail up`, smtplib with DSN parameters): a local
delivery with NOTIFY=SUCCESS gives the sender an RFC 3464 report with
Action: delivered and the ORCPT and ENVID given at MAIL/RCPT; NOTIFY=NEVER on a
recipient that fails gives no bounce.

With queue-send in the foreground (20-queue-send's Root, QUAIL_RETRY_SCALE):
a recipient still deferred after control/delaywarning gets one delay notice,
and none again after a restart of queue-send (the journal's W record); a
failing UTF-8 recipient of an SMTPUTF8 message is reported with a utf-8
address type and its 8-bit RET=FULL original comes back byte for byte.

A "relayed" report needs remote-deliver, which this branch does not have: a
shell stand-in speaking its report contract (as 20-queue-send's held-recipient
test uses) gives a relayed report for a peer without DSN and none for a peer
whose K carries the "DSN " mark; the parsing and the report are also
unit-tested (tests/unit/queue_send_report_test.cpp, dsn_report_test.cpp).
"""
import sys
sys.dont_write_bytecode = True
import email
import email.policy
import importlib.util
import os
import smtplib
import time
import unittest

import quailtest as qt

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "queue_send_root", os.path.join(HERE, "..", "20-queue-send", "test_queue_send.py"))
qs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(qs)

DOMAIN = "example.test"
ALICE = "alice@" + DOMAIN
BOB = "bob@" + DOMAIN


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def status_blocks(report):
    """The message/delivery-status part's blocks: per-message first, then one per recipient."""
    parts = list(report.iter_parts())
    return parts[1].get_payload()


class DsnOverSmtp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        qt.require("quail", "quail-init", "quail-user", "quail-up", "quail-down", "smtpd", "tcpserver",
                    "queue-inject", "queue-send", "local-deliver")
        cls.q = qt.Instance()
        try:
            cls.q.init("mx." + DOMAIN, [DOMAIN])
            cls.q.add_user(ALICE)
            cls.q.add_user(BOB)
            # alice-fail@: accepted at RCPT (its .qmail file exists), fails for good at delivery.
            path = os.path.join(cls.q.home(ALICE), ".qmail-fail")
            with open(path, "w") as f:
                f.write("|exit 100\n")
            os.chmod(path, 0o644)
            cls.port = qt.free_port()
            cls.q.up(smtp="127.0.0.1:%d" % cls.port)
        except BaseException:
            cls.q.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()

    def send(self, sender, rcpt, mail_options, rcpt_options, subject):
        msg = ("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@client.test>\r\n\r\nhello\r\n"
               % (sender, rcpt, subject, subject)).encode()
        with smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.test", timeout=30) as c:
            c.ehlo()
            self.assertTrue(c.has_extn("dsn"), "smtpd advertises DSN")
            refused = c.sendmail(sender, [rcpt], msg, mail_options=mail_options, rcpt_options=rcpt_options)
            self.assertEqual(refused, {})

    def queue_events(self, **match):
        return [r for r in self.q.log_lines("queue-send") if all(r.get(k) == v for k, v in match.items())]

    def test_notify_success_local_delivery_gives_a_delivered_report(self):
        self.send(ALICE, BOB, ["ENVID=env+2B42"], ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;Bob+40example.test"],
                  "success-wanted")
        qt.wait_for(lambda: self.q.maildir_messages(BOB), 30, "delivery to bob")
        reports = qt.wait_for(lambda: self.q.maildir_messages(ALICE), 30, "the success report in alice's Maildir")
        self.assertEqual(len(reports), 1)
        r = parse(reports[0])
        self.assertEqual(r.get_content_type(), "multipart/report")
        self.assertEqual(r.get_param("report-type"), "delivery-status")
        self.assertEqual(r["To"], ALICE)
        self.assertEqual([p.get_content_type() for p in r.iter_parts()],
                         ["text/plain", "message/delivery-status", "text/rfc822-headers"])
        blocks = status_blocks(r)
        self.assertEqual(blocks[0]["Reporting-MTA"], "dns; mx." + DOMAIN)
        self.assertEqual(blocks[0]["Original-Envelope-Id"], "env+42")
        self.assertEqual(len(blocks), 2)
        self.assertEqual(blocks[1]["Final-Recipient"], "rfc822; " + BOB)
        self.assertEqual(blocks[1]["Original-Recipient"], "rfc822; Bob@example.test")
        self.assertEqual(blocks[1]["Action"], "delivered")
        self.assertEqual(blocks[1]["Status"], "2.0.0")
        # Headers only: the subject is there, the body is not.
        third = list(r.iter_parts())[2].get_content()
        self.assertIn("Subject: success-wanted", third)
        self.assertNotIn("hello", third)
        self.assertTrue(self.queue_events(event="report", kind="success"))

    def test_notify_never_on_a_failing_recipient_gives_no_bounce(self):
        before = len(self.q.maildir_messages(BOB))
        self.send(BOB, "alice-fail@" + DOMAIN, [], ["NOTIFY=NEVER"], "never-notify")
        qt.wait_for(lambda: self.queue_events(event="delivery", to="<alice-fail@%s>" % DOMAIN, result="failed"), 30,
                    "the permanent failure")
        qt.wait_for(lambda: self.queue_events(event="bounce", result="not requested"), 30, "bounce not requested")
        qt.wait_for(lambda: not self.q.queue_entries("mess"), 30, "the message to leave the queue")
        self.assertEqual(len(self.q.maildir_messages(BOB)), before, "no bounce for NOTIFY=NEVER")


class DsnFromTheQueue(unittest.TestCase):
    def setUp(self):
        missing = [p for p in qs.NEEDED if not os.access(os.path.join(qs.BIN, p), os.X_OK)]
        if missing:
            raise unittest.SkipTest("program(s) not built: %s" % ", ".join(missing))

    def root(self, **kw):
        r = qs.Root(**kw)
        self.addCleanup(r.cleanup)
        return r

    def test_delay_notice_once_after_delaywarning_and_not_again_after_a_restart(self):
        r = self.root(users=("alice", "bob", "carol"), control={"delaywarning": "1"})
        for u in ("alice", "carol"):
            r.write("mail/%s/%s/.qmail" % (qs.DOMAIN, u), "|echo mailbox busy; exit 111\n")
        # Retries 0.1, 0.4, 0.9, 1.6, 2.5, 3.6, 4.9 ... s after birth.
        r.start(env={"QUAIL_RETRY_SCALE": "600"})
        qid = r.inject("bob@example.test", ["alice@example.test", ("carol@example.test", b"Xnotify=FAILURE\0")])
        notices = qs.wait_for(lambda: r.mailbox("bob"), 20, "the delay notice")
        # Two more deferrals of alice after the notice: no second one.
        first = len(r.events(msg=qid, event="delivery", to="<alice@example.test>", result="deferred"))
        qs.wait_for(lambda: len(r.events(msg=qid, event="delivery", to="<alice@example.test>",
                                         result="deferred")) >= first + 2, 20, "two more deferrals")
        self.assertEqual(len(r.mailbox("bob")), 1)
        with open(r.path("queue", "stat", qt.inode_of(qid))) as f:
            self.assertIn("\nW 0\n", f.read())
        self.assertEqual(r.stop(), 0)
        r.start(env={"QUAIL_RETRY_SCALE": "600"})
        seen = len(r.events(msg=qid, event="delivery", to="<alice@example.test>", result="deferred"))
        qs.wait_for(lambda: len(r.events(msg=qid, event="delivery", to="<alice@example.test>",
                                         result="deferred")) >= seen + 2, 30, "two deferrals after the restart")
        self.assertEqual(len(r.mailbox("bob")), 1, "one delay notice per recipient, also across a restart")

        n = notices[0]
        self.assertEqual(n.get_content_type(), "multipart/report")
        self.assertEqual(n["Subject"], "delivery delayed: still trying")
        blocks = status_blocks(n)
        self.assertEqual(len(blocks), 2, "carol asked for FAILURE only: no delay notice for her")
        self.assertEqual(blocks[1]["Final-Recipient"], "rfc822; alice@example.test")
        self.assertEqual(blocks[1]["Action"], "delayed")
        self.assertTrue(blocks[1]["Status"].startswith("4."))
        self.assertIn("mailbox busy", blocks[1]["Diagnostic-Code"])
        self.assertTrue(blocks[1]["Will-Retry-Until"])
        self.assertEqual(list(n.iter_parts())[2].get_content_type(), "text/rfc822-headers")
        self.assertEqual(len(r.events(msg=qid, event="report", kind="delayed")), 1)

    def test_relayed_report_for_a_peer_without_dsn_and_none_for_a_peer_with_dsn(self):
        # A stand-in for remote-deliver speaks its kept-run contract, with the "DSN "
        # mark on K for a peer that took the parameters.
        r = self.root()
        qs.fake_remote_deliver(r.path("bin", "remote-deliver"),
                               "    report = b'r\\0' * len(rcpts) + (b'KDSN ' if dom == 'dsn.test' else b'K')\n"
                               "    report += b'mx.%s [192.0.2.2] accepted the message: 250 2.0.0 ok\\0' % dom.encode()")
        r.start()
        success = b"Xnotify=SUCCESS\0"
        both = r.inject("bob@example.test", [("alice@example.test", success),
                                             ("carol@plain.test", success + b"Xorcpt=rfc822;carol+40plain.test\0")],
                        msg_ext=b"Xenvid=mixed\0")
        peer = r.inject("bob@example.test", [("dave@dsn.test", success)])
        for qid in (both, peer):
            qs.wait_for(lambda: r.events(msg=qid, event="done"), 20, "message %s done" % qid)
        box = qs.wait_for(lambda: r.mailbox("bob"), 20, "the report")
        self.assertEqual(len(box), 1, "one report for the mixed message, none for the DSN peer's")
        self.assertFalse(r.events(msg=peer, event="report"))
        rep = box[0]
        self.assertEqual(rep.get_content_type(), "multipart/report")
        blocks = status_blocks(rep)
        self.assertEqual(blocks[0]["Original-Envelope-Id"], "mixed")
        by_rcpt = {b["Final-Recipient"]: b for b in blocks[1:]}
        self.assertEqual(set(by_rcpt), {"rfc822; alice@example.test", "rfc822; carol@plain.test"})
        self.assertEqual(by_rcpt["rfc822; alice@example.test"]["Action"], "delivered")
        carol = by_rcpt["rfc822; carol@plain.test"]
        self.assertEqual(carol["Action"], "relayed")
        self.assertEqual(carol["Status"], "2.0.0")
        self.assertEqual(carol["Original-Recipient"], "rfc822; carol@plain.test")
        self.assertEqual(carol["Remote-MTA"], "dns; mx.plain.test")
        self.assertEqual(carol["Diagnostic-Code"], "smtp; 250 2.0.0 ok")
        d = r.events(msg=peer, event="delivery")[0]
        self.assertEqual(d["reason"], "mx.dsn.test [192.0.2.2] accepted the message: 250 2.0.0 ok")

    def test_a_success_report_lost_in_a_crash_is_sent_after_the_restart_and_an_r_record_prevents_a_second(self):
        # The state a crash leaves: D on disk, the report not (yet) queued; and the
        # state after the report was queued: D and R.
        r = self.root()
        birth = time.time_ns() - 10 * 10**9
        owed = r.craft("mess", "bob@example.test", [("alice@example.test", b"Xnotify=SUCCESS\0")], birth,
                       journal="D 0\n")
        done = r.craft("mess", "bob@example.test", [("alice@example.test", b"Xnotify=SUCCESS\0")], birth + 1,
                       journal="D 0\nR 0\n")
        r.start()
        for qid in (owed, done):
            qs.wait_for(lambda: r.events(msg=qid, event="done"), 20, "message %s done" % qid)
        box = qs.wait_for(lambda: r.mailbox("bob"), 20, "the owed report")
        self.assertEqual(len(box), 1)
        self.assertEqual(status_blocks(box[0])[1]["Action"], "delivered")
        self.assertTrue(r.events(msg=owed, event="report", kind="success"))
        self.assertFalse(r.events(msg=done, event="report"))
        self.assertFalse(r.mailbox("alice"), "nothing delivered again")

    def test_utf8_recipient_failure_uses_utf8_type_and_returns_8bit_original_intact(self):
        r = self.root()
        r.start()
        rcpt = "j\u00f6rg@example.test"
        body = ("From: bob@example.test\nTo: %s\nSubject: Gr\u00fc\u00dfe\nMessage-ID: <utf8@test>\n\n"
                "K\u00e4se und Br\u00f6tchen\n" % rcpt).encode() + b"a raw byte: \xff\n"
        qid = r.inject("bob@example.test", [rcpt], body=body, msg_ext=b"Xret=FULL\0Xsmtputf8=1\0")
        qs.wait_for(lambda: r.events(msg=qid, event="bounce", kind="single"), 20, "the bounce")
        new = r.path("mail", qs.DOMAIN, "bob", "Maildir", "new")
        names = qs.wait_for(lambda: os.listdir(new), 20, "the bounce in bob's Maildir")
        with open(os.path.join(new, names[0]), "rb") as f:
            raw = f.read()
        self.assertIn(b"report-type=global-delivery-status", raw)
        self.assertIn(b"\nContent-Type: message/global-delivery-status\n", raw)
        self.assertIn(b"\nFinal-Recipient: utf-8; " + rcpt.encode() + b"\n", raw)
        self.assertIn(b"\nAction: failed\n", raw)
        self.assertIn(b"\nContent-Type: message/global\nContent-Transfer-Encoding: 8bit\n\n", raw)
        self.assertIn(body, raw, "the 8-bit original comes back byte for byte")
        b = parse(raw)
        self.assertEqual(b.get_content_type(), "multipart/report")
        self.assertEqual([p.get_content_type() for p in b.iter_parts()],
                         ["text/plain", "message/global-delivery-status", "message/global"])

    def test_8bit_original_without_smtputf8_comes_back_as_8bit_rfc822(self):
        r = self.root()
        r.start()
        body = b"From: bob@example.test\nTo: nobody@example.test\nSubject: latin-1\n\nK\xe4se \xff\n"
        qid = r.inject("bob@example.test", ["nobody@example.test"], body=body)
        qs.wait_for(lambda: r.events(msg=qid, event="bounce", kind="single"), 20, "the bounce")
        new = r.path("mail", qs.DOMAIN, "bob", "Maildir", "new")
        names = qs.wait_for(lambda: os.listdir(new), 20, "the bounce in bob's Maildir")
        with open(os.path.join(new, names[0]), "rb") as f:
            raw = f.read()
        self.assertIn(b"report-type=delivery-status;", raw)
        self.assertIn(b"\nFinal-Recipient: rfc822; nobody@example.test\n", raw)
        self.assertIn(b"\nContent-Type: message/rfc822\nContent-Transfer-Encoding: 8bit\n\n", raw)
        self.assertIn(body, raw)


if __name__ == "__main__":
    unittest.main()
