"""sendmail, inject and mailq against a hand-built root, without queue-send: each
test reads the queue file sendmail left in queue/todo/ and checks its envelope
and message (queue-layout/README.md), the exit code and the log line."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import quailtest as qt

qt.require("sendmail", "inject", "mailq", "queue-inject")

HEADER = re.compile(rb"QUAIL-QUEUE 1 (\d{20}) (\d{20})\n\Z")


def read_queue_file(path):
    """(message bytes, sender, [(recipient, {key: value})], {message key: value})"""
    with open(path, "rb") as f:
        data = f.read()
    m = HEADER.match(data[:56])
    assert m, "bad queue header in %s: %r" % (path, data[:56])
    length = int(m.group(1))
    message, env = data[56:56 + length], data[56 + length:]
    assert env.endswith(b"\0\0"), "envelope must end in the empty record: %r" % env
    records = env[:-2].split(b"\0")
    assert records[0].startswith(b"F")
    sender, rcpts, ext = records[0][1:].decode(), [], {}
    for r in records[1:]:
        if r.startswith(b"T"):
            rcpts.append((r[1:].decode(), {}))
        else:
            assert r.startswith(b"X"), r
            k, v = r[1:].decode().split("=", 1)
            (rcpts[-1][1] if rcpts else ext)[k] = v
    return message, sender, rcpts, ext


def strip_received(message):
    """The message as sendmail handed it over (queue-inject prepends one Received: line)."""
    assert message.startswith(b"Received: (quail-queue "), message[:80]
    return message.split(b"\n", 1)[1]


class SendmailTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="quail-e2e-sendmail-")
        self.root = os.path.join(self.tmp, "root")
        for d in ("control", "users", "mail", "log", "run", "queue/tmp", "queue/todo", "queue/mess",
                  "queue/stat", "queue/lock"):
            os.makedirs(os.path.join(self.root, d))
        os.mkfifo(os.path.join(self.root, "queue/lock/trigger"))
        self.control("me", "mx.example.test\n")
        self.control("defaultdomain", "example.test\n")
        self.control("virtualdomains", "example.test\n")

    def tearDown(self):
        if os.environ.get("QUAIL_KEEP") != "1":
            shutil.rmtree(self.tmp, ignore_errors=True)

    def control(self, name, value):
        with open(os.path.join(self.root, "control", name), "w") as f:
            f.write(value)

    def run_prog(self, prog, args, data=b"", env=None):
        e = dict(os.environ, QUAIL_ROOT=self.root, USER="tester")
        e.pop("QUEUE_PROGRAM", None)
        e.update(env or {})
        r = subprocess.run([qt.bin_path(prog)] + list(args), input=data, capture_output=True, env=e, timeout=60)
        r.err = r.stderr.decode("utf-8", "replace")
        r.out = r.stdout.decode("utf-8", "replace")
        return r

    def sendmail(self, args, data=b"", env=None, prog="sendmail", expect=0):
        r = self.run_prog(prog, args, data, env)
        self.assertEqual(r.returncode, expect, "%s %s exited %d: %s" % (prog, args, r.returncode, r.err))
        return r

    def todo(self):
        return sorted(os.listdir(os.path.join(self.root, "queue/todo")))

    def only_message(self):
        """The one queue file: (message as sendmail wrote it, sender, recipients, message keys)."""
        ids = self.todo()
        self.assertEqual(len(ids), 1, ids)
        message, sender, rcpts, ext = read_queue_file(os.path.join(self.root, "queue/todo", ids[0]))
        return strip_received(message), sender, rcpts, ext

    def assertNothingQueued(self):
        self.assertEqual(self.todo(), [])
        self.assertEqual(os.listdir(os.path.join(self.root, "queue/tmp")), [])

    # ---------------------------------------------------------------- recipients

    def test_t_takes_to_cc_bcc_and_removes_bcc(self):
        msg = (b"To: Bob <bob@example.test>, \"Smith, Carol\" <carol@example.org>\n"
               b"Cc: team: dave@example.test;, erin (a comment)\n"
               b"Bcc: hidden@example.net\n"
               b"Subject: -t\n\nbody\n")
        self.sendmail(["-t"], msg)
        message, sender, rcpts, _ = self.only_message()
        self.assertEqual([r for r, _ in rcpts], ["bob@example.test", "carol@example.org", "dave@example.test",
                                                 "erin@example.test", "hidden@example.net"])
        self.assertEqual(sender, "tester@example.test")
        self.assertEqual(qt.header(message, "Bcc"), [])
        self.assertNotIn(b"hidden", message)
        self.assertTrue(message.endswith(b"\n\nbody\n"))

    def test_t_adds_command_line_recipients(self):
        self.sendmail(["-t", "extra@example.org", "bob@example.test"],
                      b"To: bob@example.test\nSubject: x\n\nbody\n")
        _, _, rcpts, _ = self.only_message()
        self.assertEqual([r for r, _ in rcpts], ["extra@example.org", "bob@example.test"])

    def test_t_uses_resent_fields_when_present(self):
        self.sendmail(["-t"], b"To: old@example.test\nResent-To: new@example.test\nResent-Bcc: b@example.test\n"
                              b"Subject: fwd\n\nbody\n")
        message, _, rcpts, _ = self.only_message()
        self.assertEqual([r for r, _ in rcpts], ["new@example.test", "b@example.test"])
        self.assertEqual(qt.header(message, "Resent-Bcc"), [])

    def test_unqualified_addresses_get_defaultdomain(self):
        self.sendmail(["-t", "carol"], b"To: Bob <bob>, dave@example.org\nSubject: q\n\nbody\n")
        message, sender, rcpts, _ = self.only_message()
        self.assertEqual([r for r, _ in rcpts], ["carol@example.test", "bob@example.test", "dave@example.org"])
        self.assertEqual(qt.header(message, "To"), [b"Bob <bob@example.test>, dave@example.org"])
        self.assertEqual(sender, "tester@example.test")

    def test_header_addresses_are_qualified_in_place(self):
        self.sendmail(["-t"], b"From: root (Cron Daemon)\nTo: team: bob,\n  carol@example.org;\nSubject: q\n\nbody\n")
        message, _, rcpts, _ = self.only_message()
        self.assertEqual([r for r, _ in rcpts], ["bob@example.test", "carol@example.org"])
        self.assertIn(b"From: root@example.test (Cron Daemon)\nTo: team: bob@example.test,\n  carol@example.org;\n",
                      message)

    def test_defaultdomain_falls_back_to_me(self):
        os.unlink(os.path.join(self.root, "control/defaultdomain"))
        self.sendmail(["bob"], b"Subject: x\n\nbody\n")
        _, sender, rcpts, _ = self.only_message()
        self.assertEqual(rcpts[0][0], "bob@mx.example.test")
        self.assertEqual(sender, "tester@mx.example.test")

    def test_invalid_recipient_is_refused_and_nothing_queued(self):
        for bad in ("bob@", "bob@exa mple.test", "a..b@example.test", "<bob@example.test"):
            with self.subTest(bad=bad):
                r = self.sendmail(["ok@example.test", bad], b"Subject: x\n\nbody\n", expect=100)
                self.assertIn("invalid recipient", r.err)
                self.assertIn(bad, r.err.replace('\\"', '"'))
                self.assertNothingQueued()
        r = self.sendmail(["-t"], b"To: \"unterminated@example.test\n\nbody\n", expect=100)
        self.assertIn("To: field", r.err)
        self.assertNothingQueued()

    def test_no_recipients_is_a_usage_error(self):
        r = self.sendmail([], b"Subject: x\n\nbody\n", expect=100)
        self.assertIn("no recipients", r.err)
        self.sendmail(["-t"], b"Subject: x\n\nbody\n", expect=100)
        self.assertNothingQueued()

    # ---------------------------------------------------------------- sender and added headers

    def test_missing_date_message_id_from_are_added(self):
        self.sendmail(["-F", "Cron Daemon", "bob@example.test"], b"Subject: bare\n\nbody\n")
        message, _, _, _ = self.only_message()
        self.assertEqual(qt.header(message, "From"), [b"Cron Daemon <tester@example.test>"])
        self.assertRegex(qt.header(message, "Date")[0], rb"^\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$")
        self.assertRegex(qt.header(message, "Message-ID")[0], rb"^<\d+\.\d+\.[0-9a-f]{16}@mx\.example\.test>$")
        self.assertTrue(message.startswith(b"Subject: bare\n"))
        self.assertTrue(message.endswith(b"\n\nbody\n"))

    def test_existing_headers_and_body_are_kept_byte_for_byte(self):
        msg = qt.make_message(7, to="bob@example.test", sender="alice@example.org",
                              body=b"line one\n\n  indented\nFrom the start\n.. two dots\n")
        self.sendmail(["-i", "bob@example.test"], msg)
        message, _, _, _ = self.only_message()
        self.assertEqual(message, msg)

    def test_f_sets_envelope_sender_and_from(self):
        self.sendmail(["-f", "alice@example.org", "-F", "Alice Q. Example", "bob@example.test"],
                      b"Subject: x\n\nbody\n")
        message, sender, _, _ = self.only_message()
        self.assertEqual(sender, "alice@example.org")
        self.assertEqual(qt.header(message, "From"), [b"\"Alice Q. Example\" <alice@example.org>"])

    def test_r_and_unqualified_f(self):
        self.sendmail(["-r", "bounces", "bob@example.test"], b"From: list@example.test\n\nbody\n")
        message, sender, _, _ = self.only_message()
        self.assertEqual(sender, "bounces@example.test")
        self.assertEqual(qt.header(message, "From"), [b"list@example.test"])

    def test_null_sender(self):
        self.sendmail(["-f", "<>", "bob@example.test"], b"Subject: x\n\nbody\n")
        message, sender, _, _ = self.only_message()
        self.assertEqual(sender, "")
        self.assertEqual(qt.header(message, "From"), [b"tester@example.test"])

    def test_dsn_flags_go_into_the_envelope(self):
        self.sendmail(["-N", "success,failure", "-R", "hdrs", "-V", "id 1+", "a@example.test", "b@example.org"],
                      b"Subject: x\n\nbody\n")
        _, _, rcpts, ext = self.only_message()
        self.assertEqual(ext, {"ret": "HDRS", "envid": "id+201+2B", "origin": "local"})  # origin: DKIM signing
        self.assertEqual(rcpts, [("a@example.test", {"notify": "SUCCESS,FAILURE"}),
                                 ("b@example.org", {"notify": "SUCCESS,FAILURE"})])
        self.sendmail(["-N", "sometimes", "a@example.test"], b"x\n", expect=100)

    # ---------------------------------------------------------------- input handling

    def test_lone_dot_ends_input_without_i(self):
        self.sendmail(["bob@example.test"], b"Subject: dot\n\nbefore\n..\n.\nafter\n")
        message, _, _, _ = self.only_message()
        self.assertTrue(message.endswith(b"\n\nbefore\n..\n"), message)
        self.assertNotIn(b"after", message)

    def test_i_and_oi_keep_lone_dots(self):
        for flags in (["-i"], ["-oi"], ["-o", "i"], ["-ti"]):
            with self.subTest(flags=flags):
                for name in self.todo():
                    os.unlink(os.path.join(self.root, "queue/todo", name))
                self.sendmail(flags + ["bob@example.test"], b"To: bob@example.test\n\nbefore\n.\nafter\n")
                message, _, _, _ = self.only_message()
                self.assertTrue(message.endswith(b"\n\nbefore\n.\nafter\n"), message)

    def test_inject_never_ends_at_a_dot(self):
        self.sendmail(["bob@example.test"], b"Subject: x\n\nbefore\n.\nafter\n", prog="inject")
        message, _, _, _ = self.only_message()
        self.assertTrue(message.endswith(b"\n.\nafter\n"))

    def test_crlf_input_is_stored_with_lf(self):
        self.sendmail(["-i", "bob@example.test"],
                      b"Subject: crlf\r\nX-Folded: a\r\n b\r\n\r\nline 1\r\nbare\rcr\r\nlast")
        message, _, _, _ = self.only_message()
        self.assertNotIn(b"\r\n", message)
        self.assertIn(b"X-Folded: a\n b\n", message)
        self.assertTrue(message.endswith(b"\n\nline 1\nbare\rcr\nlast\n"), message)

    def test_header_without_blank_line_gets_one(self):
        self.sendmail(["bob@example.test"], b"Subject: x\nthis line is body\n")
        message, _, _, _ = self.only_message()
        self.assertRegex(message, rb"\n\nthis line is body\n$")
        self.assertEqual(qt.header(message, "Subject"), [b"x"])

    def test_leading_mbox_from_line_is_dropped(self):
        self.sendmail(["bob@example.test"], b"From alice@example.org Sat Nov 28 14:05:16 2026\nSubject: mbox\n\n"
                                            b"From the body\n")
        message, _, _, _ = self.only_message()
        self.assertTrue(message.startswith(b"Subject: mbox\n"), message)
        self.assertTrue(message.endswith(b"\n\nFrom the body\n"))

    def test_large_message_is_streamed_whole(self):
        body = b"".join(b"%07d 0123456789abcdefghijklmnopqrstuvwxyz\r\n" % i for i in range(150000))
        self.sendmail(["-i", "bob@example.test"], b"Subject: big\r\n\r\n" + body)
        message, _, _, _ = self.only_message()
        self.assertTrue(message.endswith(b"\n\n" + body.replace(b"\r\n", b"\n")))

    # ---------------------------------------------------------------- failures and the log

    def test_queue_program_temporary_failure_is_111(self):
        script = os.path.join(self.tmp, "full-disk")
        with open(script, "w") as f:
            f.write("#!/bin/sh\ncat >/dev/null\nexit 53\n")
        os.chmod(script, 0o755)
        r = self.sendmail(["bob@example.test"], b"Subject: x\n\nbody\n", env={"QUEUE_PROGRAM": script}, expect=111)
        self.assertIn("disk full", r.err)
        self.assertNothingQueued()

    def test_queue_program_permanent_refusal_is_100(self):
        script = os.path.join(self.tmp, "refuse")
        with open(script, "w") as f:
            f.write("#!/bin/sh\ncat >/dev/null\nexit 31\n")
        os.chmod(script, 0o755)
        self.sendmail(["bob@example.test"], b"Subject: x\n\nbody\n", env={"QUEUE_PROGRAM": script}, expect=100)

    def test_log_line_names_no_header_but_message_id(self):
        r = self.sendmail(["bob@example.test", "carol"],
                          b"Subject: secret subject\nMessage-ID: <m1@example.test>\n\nsecret body\n")
        lines = [qt.parse_logfmt(line) for line in r.err.splitlines() if "prog=sendmail" in line]
        self.assertEqual(len(lines), 1, r.err)
        rec = lines[0]
        self.assertEqual(rec["event"], "submitted")
        self.assertEqual(rec["uid"], str(os.getuid()))
        self.assertEqual(rec["from"], "<tester@example.test>")
        self.assertEqual(rec["rcpts"], "2")
        self.assertEqual(rec["message-id"], "<m1@example.test>")
        self.assertNotIn("secret", r.err)

    def test_unsupported_modes_and_flags_are_refused(self):
        for args in (["-bs"], ["-bd"], ["-q30m"], ["-Z", "bob@example.test"], ["-f"]):
            with self.subTest(args=args):
                r = self.sendmail(args, b"", expect=100)
                self.assertIn("usage:", r.err)
        self.assertNothingQueued()

    # ---------------------------------------------------------------- what real programs run

    def test_usual_invocations(self):
        msg = b"To: bob@example.test\nSubject: usual\n\nbody\n"
        cases = [
            ("cron (Debian)", ["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "bob"], "tester", "bob@example.test"),
            ("cronie", ["-FCronDaemon", "-i", "-odi", "-oem", "-oi", "-t", "-f", "root"], "root", "bob@example.test"),
            ("mutt", ["-oem", "-oi", "--", "bob@example.test"], "tester", "bob@example.test"),
            ("git send-email", ["-i", "bob@example.test"], "tester", "bob@example.test"),
            ("PHP mail()", ["-t", "-i", "-fwebmaster@example.org"], "webmaster@example.org", "bob@example.test"),
            ("unattended-upgrades", ["-oi", "-t"], "tester", "bob@example.test"),
            ("verbose", ["-v", "-bm", "-U", "bob@example.test"], "tester", "bob@example.test"),
        ]
        for name, args, sender, rcpt in cases:
            with self.subTest(name):
                for f in self.todo():
                    os.unlink(os.path.join(self.root, "queue/todo", f))
                self.sendmail(args, msg)
                message, env_sender, rcpts, _ = self.only_message()
                if "@" not in sender:
                    sender += "@example.test"
                self.assertEqual(env_sender, sender)
                self.assertEqual([r for r, _ in rcpts], [rcpt])
                self.assertTrue(message.endswith(b"\n\nbody\n"))
                if "-FCronDaemon" in args:
                    self.assertEqual(qt.header(message, "From"), [b"CronDaemon <%s>" % sender.encode()])

    def test_root_flag(self):
        r = self.run_prog("sendmail", ["--root", self.root, "bob@example.test"], b"Subject: x\n\nbody\n",
                          env={"QUAIL_ROOT": "/nonexistent"})
        self.assertEqual(r.returncode, 0, r.err)
        self.assertEqual(len(self.todo()), 1)

    # ---------------------------------------------------------------- mailq

    def test_mailq_lists_the_queue(self):
        r = self.sendmail([], prog="mailq")
        self.assertEqual(r.out, "Mail queue is empty\n")
        self.sendmail(["-f", "alice@example.org", "bob@example.test", "carol@example.org"], b"Subject: q\n\nbody\n")
        self.sendmail(["-f", "<>", "dave@example.test"], b"Subject: bounce\n\nbody\n")
        ids = self.todo()
        # a message queue-send has taken is listed too
        os.rename(os.path.join(self.root, "queue/todo", ids[1]), os.path.join(self.root, "queue/mess", ids[1]))
        out = self.sendmail([], prog="mailq").out
        for text in [qt.queue_file_id(os.path.join(self.root, "queue", d, i)) for d, i in (("todo", ids[0]), ("mess", ids[1]))] + ["alice@example.org", "bob@example.test", "carol@example.org", "dave@example.test",
                           "<>", "in 2 Requests."]:
            self.assertIn(text, out)
        self.assertEqual(self.sendmail(["-bp"]).out, out)
        lines = out.splitlines()
        first = next(i for i, line in enumerate(lines) if line.endswith(" alice@example.org"))
        self.assertRegex(lines[first], r"^[0-9a-z]{13,} +\d+ ")
        self.assertEqual([line.strip() for line in lines[first + 1:first + 3]], ["bob@example.test", "carol@example.org"])

    def test_mailq_shows_each_recipients_state_from_the_journal(self):
        self.sendmail(["a@example.test", "b@example.org", "c@example.org", "d@example.org"], b"Subject: q\n\nbody\n")
        qid = self.todo()[0]
        with open(os.path.join(self.root, "queue/todo", qid), "rb") as f:
            birth = int(f.read(56).split()[3])
        os.rename(os.path.join(self.root, "queue/todo", qid), os.path.join(self.root, "queue/mess", qid))
        with open(os.path.join(self.root, "queue/stat", qid), "w") as f:
            f.write("quail-stat 1 %d\nD 0\nF 1 no such user (#5.1.1)\nT 2 1795875845 connection refused (#4.4.1)\n" % birth)
        out = self.sendmail([], prog="mailq").out
        self.assertIn("a@example.test (delivered)\n", out)
        self.assertIn("b@example.org (failed: no such user (#5.1.1))\n", out)
        self.assertIn("c@example.org (deferred: connection refused (#4.4.1))\n", out)
        self.assertIn("d@example.org\n", out)
        # a journal of an earlier message with the same inode (another birth) is ignored
        with open(os.path.join(self.root, "queue/stat", qid), "w") as f:
            f.write("quail-stat 1 %d\nD 0\n" % (birth + 1))
        self.assertNotIn("(delivered)", self.sendmail([], prog="mailq").out)


if __name__ == "__main__":
    unittest.main()
