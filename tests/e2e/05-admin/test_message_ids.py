#!/usr/bin/python3
"""05-admin, message ids: a message's id names that message only, for the life of
the installation (queue-layout/README.md, "Message ids"), although pool/ hands a
delivered message's queue file (its inode) to the next message at once.

Messages go one after the other over SMTP, each delivered before the next, so
their queue files are reused; the 250 replies, the Received lines and a grep for
msg=<id> in the log must still tell every message apart, and the Message-ID each
client sent is logged at acceptance with its message's id.
"""
import sys
sys.dont_write_bytecode = True
import os
import re
import smtplib
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import quailtest as qt  # noqa: E402

qt.require("quail", "quail-init", "quail-user", "quail-up", "quail-down", "smtpd", "tcpserver", "queue-inject",
           "queue-send", "local-deliver")

ALICE = "alice@example.test"
COUNT = 12


class MessageIds(unittest.TestCase):
    def setUp(self):
        self.q = qt.Instance(prefix="quail-e2e-ids-")
        self.addCleanup(self.q.cleanup)
        self.q.init("mx.example.test", ["example.test"])
        self.q.add_user(ALICE)
        self.port = qt.free_port()
        self.q.up(smtp="127.0.0.1:%d" % self.port)

    def send(self, n):
        msg = ("From: bob@client.test\r\nTo: %s\r\nSubject: id %d\r\nMessage-ID: <id-%d.x\"y@client.test>\r\n"
               "X-Quail-Test: %d\r\n\r\nhello\r\n" % (ALICE, n, n, n)).encode()
        with smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.test", timeout=30) as c:
            c.ehlo()
            self.assertEqual(c.mail("bob@client.test")[0], 250)
            self.assertEqual(c.rcpt(ALICE)[0], 250)
            code, text = c.data(msg)
        self.assertEqual(code, 250, text)
        m = re.fullmatch(r"2\.0\.0 ok ([0-9a-z]+)", text.decode())
        self.assertTrue(m, text)
        return m.group(1)

    def test_reused_queue_files_give_every_message_its_own_id(self):
        ids = []
        for n in range(COUNT):
            ids.append(self.send(n))
            qt.wait_for(lambda: self.q.maildir_count(ALICE) == n + 1 and self.q.queue_empty(), 30,
                        "message %d delivered" % n)
        inodes = [qt.inode_of(i) for i in ids]
        # The situation the ids are for: files were reused (pool/), inodes repeat ...
        self.assertLess(len(set(inodes)), COUNT, "no queue file was reused: %s" % inodes)
        qt.note("%d messages, %d inodes, %d ids" % (COUNT, len(set(inodes)), len(set(ids))))
        # ... and the ids do not.
        self.assertEqual(len(set(ids)), COUNT, ids)
        lines = self.q.log_lines()
        by_number = {qt.test_number(m): m for m in self.q.maildir_messages(ALICE)}
        for n, mid in enumerate(ids):
            # grep msg=<id>: exactly this message's story, once each step.
            mine = [l for l in lines if re.search(r"(^| )msg=%s( |$)" % mid, l["_line"])]
            events = sorted(l["event"] for l in mine)
            self.assertEqual(events, ["accepted", "delivery", "done", "queued", "taken"], (mid, events))
            queued = next(l for l in mine if l["event"] == "queued")
            self.assertEqual(queued["message-id"], '<id-%d.x"y@client.test>' % n)
            # The Received line queue-inject wrote names the same id.
            received = [v for v in qt.header(by_number[n], "Received") if b"quail-queue" in v]
            self.assertEqual(len(received), 1)
            self.assertIn(b"quail-queue %s invoked" % mid.encode(), received[0])

    def test_message_id_field_in_the_log_is_escaped_and_capped(self):
        long_id = "<" + "x" * 300 + "\x01@client.test>"
        msg = ("Subject: long\r\nMessage-ID: %s\r\n\r\nbody line that is never logged\r\n" % long_id).encode()
        with smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.test", timeout=30) as c:
            c.sendmail("bob@client.test", [ALICE], msg)
        qt.wait_for(lambda: self.q.maildir_count(ALICE) == 1, 30, "delivery")
        queued = [l for l in self.q.log_lines() if l.get("event") == "queued"]
        self.assertEqual(len(queued), 1)
        self.assertLessEqual(len(queued[0]["message-id"]), 200)
        self.assertTrue(queued[0]["message-id"].startswith("<xxxx"))
        self.assertNotIn("\x01", queued[0]["_line"])
        self.assertFalse([l for l in self.q.log_lines() if "never logged" in l["_line"]])


if __name__ == "__main__":
    unittest.main()
