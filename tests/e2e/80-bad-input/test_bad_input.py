"""80-bad-input: what quail does with input it must refuse.

- queue-inject with malformed envelopes (queue-layout/envelope.md) exits 91 (11 for
  an address over 1000 bytes) and leaves nothing in todo/, tmp/ or mess/, small or
  large message alike; the message itself is stored as the bytes it is (NUL
  included: queue-inject is a byte transport, policy belongs to smtpd).
- garbled control files make `quail up` refuse, naming the file and the line;
  mail queued before stays queued and is delivered once the file is fixed.
"""
import os
import re
import subprocess
import unittest

import quailtest as qt

qt.require("quail", "quail-init", "quail-user", "quail-up", "quail-down", "queue-inject",
           "queue-send", "local-deliver", "sendmail")

DOMAIN = "example.test"
ALICE = "alice@" + DOMAIN
BOB = "bob@" + DOMAIN
LONG = "a" * (1000 - len(DOMAIN)) + "@" + DOMAIN  # 1001 bytes
assert len(LONG) == 1001

# (name, envelope, expected exit code)
BAD_ENVELOPES = [
    ("empty envelope", b"", 91),
    ("no F record", b"T" + ALICE.encode() + b"\0\0", 91),
    ("sender only, no terminator", b"F" + BOB.encode() + b"\0", 91),
    ("missing terminator", qt.envelope(BOB, ALICE)[:-1], 91),
    ("unterminated record", b"F" + BOB.encode() + b"\0T" + ALICE.encode(), 91),
    ("no recipients", b"F" + BOB.encode() + b"\0\0", 91),
    ("empty recipient", b"F" + BOB.encode() + b"\0T\0\0", 91),
    ("control char in recipient", qt.envelope(BOB, "ali\x01ce@" + DOMAIN), 91),
    ("newline in recipient", qt.envelope(BOB, ALICE + "\nRCPT TO:<x@y>"), 91),
    ("CR in recipient", qt.envelope(BOB, ALICE + "\r"), 91),
    ("DEL in recipient", qt.envelope(BOB, "ali\x7fce@" + DOMAIN), 91),
    ("tab in sender", qt.envelope("b\tob@" + DOMAIN, ALICE), 91),
    ("unknown record type", b"F" + BOB.encode() + b"\0Q" + ALICE.encode() + b"\0\0", 91),
    ("data after the end", qt.envelope(BOB, ALICE) + b"junk", 91),
    ("second envelope after the end", qt.envelope(BOB, ALICE) + qt.envelope(BOB, ALICE), 91),
    ("extension without =", b"F" + BOB.encode() + b"\0Xret\0T" + ALICE.encode() + b"\0\0", 91),
    ("bad extension key", b"F" + BOB.encode() + b"\0XRET=FULL\0T" + ALICE.encode() + b"\0\0", 91),
    ("bad ret value", b"F" + BOB.encode() + b"\0Xret=ALL\0T" + ALICE.encode() + b"\0\0", 91),
    ("notify before a recipient", b"F" + BOB.encode() + b"\0Xnotify=NEVER\0T" + ALICE.encode() + b"\0\0", 91),
    ("message key after a recipient", b"F" + BOB.encode() + b"\0T" + ALICE.encode() + b"\0Xret=FULL\0\0", 91),
    ("repeated notify", b"F" + BOB.encode() + b"\0T" + ALICE.encode() + b"\0Xnotify=NEVER\0Xnotify=NEVER\0\0", 91),
    ("bad notify", b"F" + BOB.encode() + b"\0T" + ALICE.encode() + b"\0Xnotify=SOMETIMES\0\0", 91),
    ("garbage", b"\xff\xfe\x00garbage\x00\x00", 91),
    ("random bytes", bytes(range(256)) * 4, 91),
    ("recipient of 1001 bytes", qt.envelope(BOB, LONG), 11),
    ("sender of 1001 bytes", qt.envelope(LONG, ALICE), 11),
    ("long address among good ones", qt.envelope(BOB, ALICE, LONG, BOB), 11),
]


class QueueInjectInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.q = qt.Instance()
        try:
            cls.q.init("mx." + DOMAIN, [DOMAIN])  # queue-send is not started: todo/ shows all
        except BaseException:
            cls.q.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()

    def assert_queue_empty(self, what):
        for sub in ("todo", "tmp", "mess"):
            self.assertEqual(self.q.queue_entries(sub), [], "%s left files in %s/" % (what, sub))

    def clear_todo(self):
        # A message not yet taken has two names: todo/<id> and mess/<id>.
        for sub in ("todo", "mess"):
            for n in self.q.queue_entries(sub):
                os.unlink(self.q.path("queue", sub, n))

    def test_malformed_envelopes_are_refused_and_leave_nothing(self):
        for size in (100, 3 * 1024 * 1024):  # one write / flushed in parts
            msg = qt.make_message(1, size=size)
            for name, env, want in BAD_ENVELOPES:
                with self.subTest(envelope=name, size=size):
                    code, err = self.q.queue_inject(msg, env)
                    self.assertEqual(code, want, "%s: exit %d, stderr: %s" % (name, code, err.strip()))
                    self.assert_queue_empty(name)
                    # An empty envelope is a caller giving up (smtpd after DATA): "aborted".
                    event = "aborted" if env == b"" else "refused"
                    self.assertRegex(err, r"level=\w+ .*event=%s" % event, "no %s logged: %s" % (event, err))

    def test_boundaries_and_extensions_are_accepted(self):
        ok = [
            ("address of exactly 1000 bytes", qt.envelope(BOB, LONG[1:])),
            ("null sender", qt.envelope("", ALICE)),
            ("many recipients", qt.envelope(BOB, *["u%d@%s" % (i, DOMAIN) for i in range(500)])),
            ("extension records", b"F" + BOB.encode() + b"\0Xret=HDRS\0Xenvid=abc+2B\0Xfuture-key=kept\0T" +
             ALICE.encode() + b"\0Xnotify=SUCCESS,FAILURE\0Xorcpt=rfc822;alice@example.test\0\0"),
        ]
        for name, env in ok:
            with self.subTest(envelope=name):
                code, err = self.q.queue_inject(qt.make_message(2), env)
                self.assertEqual(code, 0, "%s: %s" % (name, err))
                self.assertEqual(len(self.q.queue_entries("todo")), 1)
                self.assertEqual(self.q.queue_entries("tmp"), [])
                self.clear_todo()

    def test_message_bytes_are_stored_as_they_are(self):
        msg = b"Subject: nul\n\nbefore\0after\nnon-utf8 \xff\xfe\ncr\r\n\nno final newline"
        code, err = self.q.queue_inject(msg, qt.envelope(BOB, ALICE))
        self.assertEqual(code, 0, err)
        [qid] = self.q.queue_entries("todo")
        with open(self.q.path("queue", "todo", qid), "rb") as f:
            data = f.read()
        head = data[:56].split()
        self.assertEqual(head[:2], [b"QUAIL-QUEUE", b"1"])
        length = int(head[2])
        stored = data[56:56 + length]
        msg_id = qt.queue_file_id(self.q.path("queue", "todo", qid))
        self.assertTrue(stored.startswith(b"Received: (quail-queue %s " % msg_id.encode()), stored[:100])
        self.assertEqual(stored.split(b"\n", 1)[1], msg)
        self.assertEqual(data[56 + length:], qt.envelope(BOB, ALICE))
        self.assertEqual(os.stat(self.q.path("queue", "todo", qid)).st_ino, int(qid))
        self.clear_todo()

    def test_unreadable_input_and_missing_queue(self):
        # fd 0 a directory: read fails -> 54; nothing left behind.
        dfd = os.open(self.q.root, os.O_RDONLY)
        try:
            r, w = os.pipe()
            os.write(w, qt.envelope(BOB, ALICE))
            os.close(w)
            p = subprocess.run([qt.bin_path("queue-inject")], stdin=dfd, stdout=r, stderr=subprocess.PIPE,
                               env=self.q.env(), timeout=30)
            os.close(r)
        finally:
            os.close(dfd)
        self.assertEqual(p.returncode, 54, p.stderr)
        self.assert_queue_empty("an unreadable message")
        # fd 1 /dev/null (reads as empty): an empty envelope -> 91.
        with open(os.devnull, "rb") as null:
            p = subprocess.run([qt.bin_path("queue-inject")], input=b"x\n", stdout=null, stderr=subprocess.PIPE,
                               env=self.q.env(), timeout=30)
        self.assertEqual(p.returncode, 91, p.stderr)
        self.assert_queue_empty("an empty envelope")
        # A root that does not exist -> 61; a root without queue/ -> 62.
        code, _ = qt.run_with_envelope([qt.bin_path("queue-inject")], b"x\n", qt.envelope(BOB, ALICE),
                                       env=dict(os.environ, QUAIL_ROOT=self.q.path("no-such-root")))
        self.assertEqual(code, 61)
        empty = self.q.path("..", "empty-root")
        os.makedirs(empty, exist_ok=True)
        code, _ = qt.run_with_envelope([qt.bin_path("queue-inject")], b"x\n", qt.envelope(BOB, ALICE),
                                       env=dict(os.environ, QUAIL_ROOT=os.path.abspath(empty)))
        self.assertEqual(code, 62)


class GarbledControlFiles(unittest.TestCase):
    BAD = [
        ("concurrencylocal", "ten\n", 1),
        ("queuelifetime", "-5\n", 1),
        ("concurrencyremote", "0\n", 1),
        ("queuelifetime", "7d\n", 1),
        ("concurrencylocal", "10\0\n", 1),
    ]

    def test_quail_up_refuses_and_nothing_is_lost(self):
        with qt.Instance() as q:
            q.init("mx." + DOMAIN, [DOMAIN])
            q.add_user(ALICE)
            q.add_user(BOB)
            msg = qt.make_message(1, to=ALICE, sender=BOB)
            r = q.sendmail(["-i", "-f", BOB, ALICE], msg)
            self.assertEqual(r.returncode, 0, r.err)
            self.assertEqual(len(q.queue_entries("todo")), 1)
            cases = list(self.BAD)
            locals_path = q.path("control", "virtualdomains")
            if os.path.exists(locals_path):  # a list file garbled on line 3
                with open(locals_path) as f:
                    lines = [l for l in f.read().splitlines()]
                good = "\n".join(lines) + "\n"
                cases.append(("virtualdomains", good + "# a comment\nnot a domain!\n", len(lines) + 2))
            for name, value, line in cases:
                with self.subTest(file=name, value=value):
                    path = q.path("control", name)
                    old = open(path, "rb").read() if os.path.exists(path) else None
                    with open(path, "w") as f:
                        f.write(value)
                    try:
                        r = q.up(check=False, env={"QUAIL_RETRY_SCALE": "600"})
                        text = r.out + r.err
                        self.assertNotEqual(r.returncode, 0, "quail up accepted control/%s = %r" % (name, value))
                        self.assertRegex(text, r"%s:%d\b" % (re.escape(name), line),
                                         "quail up's complaint does not name %s:%d: %r" % (name, line, text))
                        self.assertEqual(q.pids("queue-send"), [], "queue-send runs with a bad control file")
                        self.assertEqual(q.maildir_messages(ALICE), [], "mail delivered with a bad control file")
                        self.assertEqual(len(set(q.queue_entries("todo") + q.queue_entries("mess"))), 1,
                                         "the queued message is gone")
                    finally:
                        q.down()
                        if old is None:
                            os.unlink(path)
                        else:
                            with open(path, "wb") as f:
                                f.write(old)
            # Fixed: up starts, and the message queued before is delivered once.
            q.up(env={"QUAIL_RETRY_SCALE": "600"})
            got = qt.wait_for(lambda: q.maildir_messages(ALICE), 60, "the queued message after the fix")
            self.assertEqual(len(got), 1)
            self.assertEqual(qt.strip_trace(got[0]), qt.strip_trace(msg))
            qt.wait_for(q.queue_empty, 30, "an empty queue")
            self.assertEqual(q.maildir_messages(BOB), [], "a bounce")

    def test_missing_control_files_mean_defaults(self):
        with qt.Instance() as q:
            q.init("mx." + DOMAIN, [DOMAIN])
            q.add_user(ALICE)
            for name in ("concurrencylocal", "concurrencyremote", "queuelifetime", "databytes"):
                p = q.path("control", name)
                if os.path.exists(p):
                    os.unlink(p)
            q.up(env={"QUAIL_RETRY_SCALE": "600"})
            r = q.sendmail(["-i", "-f", BOB, ALICE], qt.make_message(3, to=ALICE))
            self.assertEqual(r.returncode, 0, r.err)
            qt.wait_for(lambda: q.maildir_messages(ALICE), 60, "delivery with default settings")


if __name__ == "__main__":
    unittest.main()
