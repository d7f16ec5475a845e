"""24-queue-robustness: issue 9's queue defects, against the real programs.

- queue-inject gives every queue file mode 0640 under a caller's umask of 077,
  a new file and one taken from pool/ alike (item 1);
- stat/ is fsync'ed once a journal's first durable record is written, also when
  a T record made the journal: strace over "deferred, then delivered" (item 2);
- a live injection written over a pool file with an old mtime is in flight, not
  debris: `quail check --repair` and queue-send's start leave it alone (item 4);
- control/databytes is enforced by queue-inject for sendmail and in session
  mode, and smtpd's own Received: line does not count against it (item 10).
The system-install side of item 1 is in 91-system-queue.
"""
import os
import re
import shutil
import smtplib
import subprocess
import threading
import time
import unittest

import quailtest as qt

qt.require("quail", "queue-inject", "queue-send", "sendmail", "local-deliver")

DOMAIN = "example.test"
ALICE = "alice@" + DOMAIN
CAROL = "carol@" + DOMAIN
SCALE = "30"  # retries 2 s, 8 s, 18 s ... after birth


def umask_077():
    os.umask(0o077)


def pooled_file(q, mtime=None, mode=0o600):
    """A spent queue file parked in pool/ (named by its inode, as queue-send parks)."""
    tmp = q.path("queue", "pool", "parking")
    with open(tmp, "wb") as f:
        f.write(b"x" * 4000)
    os.chmod(tmp, mode)
    if mtime is not None:
        os.utime(tmp, (mtime, mtime))
    ino = os.stat(tmp).st_ino
    os.rename(tmp, q.path("queue", "pool", str(ino)))
    return str(ino)


class QueueRobustness(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.template = qt.TemplateRoot("quail-e2e-24-", "mx." + DOMAIN, [DOMAIN], [ALICE, CAROL])

    @classmethod
    def tearDownClass(cls):
        cls.template.cleanup()

    def instance(self):
        return self.template.copy(self)

    # ------------------------------------------------------------ item 1

    def test_queue_files_are_0640_under_a_callers_umask_of_077_new_or_from_the_pool(self):
        q = self.instance()
        for name in q.queue_entries("pool"):
            os.unlink(q.path("queue", "pool", name))
        env = q.env()
        p = subprocess.run([qt.bin_path("sendmail"), ALICE], input=qt.make_message(1), env=env,
                           capture_output=True, preexec_fn=umask_077, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        (new,) = q.queue_entries("todo")
        self.assertEqual(os.stat(q.path("queue", "todo", new)).st_mode & 0o7777, 0o640)
        # A file parked with mode 0600 (by an injector of before this fix) is taken
        # and given the queue's mode too.
        parked = pooled_file(q, mode=0o600)
        p = subprocess.run([qt.bin_path("sendmail"), ALICE], input=qt.make_message(2), env=env,
                           capture_output=True, preexec_fn=umask_077, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(parked, q.queue_entries("todo"))
        self.assertEqual(os.stat(q.path("queue", "todo", parked)).st_mode & 0o7777, 0o640)
        r = q.check()
        self.assertEqual(r.returncode, 0, r.out)
        q.up()
        qt.wait_for(lambda: q.maildir_count(ALICE) == 2 and q.queue_empty(), 30, "both delivered")

    # ------------------------------------------------------------ item 2

    def test_stat_dir_is_fsynced_when_a_journal_made_by_a_T_record_gets_its_first_D(self):
        if not shutil.which("strace"):
            self.skipTest("strace is not installed")
        q = self.instance()
        flag = q.path("alice-deferred-once")
        with open(os.path.join(q.home(ALICE), ".qmail"), "w") as f:
            f.write("|test -e %s || { touch %s; exit 111; }\n./Maildir/\n" % (flag, flag))
        with open(os.path.join(q.home(CAROL), ".qmail"), "w") as f:
            f.write("|exit 111\n")
        q.up(env={"QUAIL_RETRY_SCALE": SCALE})
        (pid,) = qt.wait_for(lambda: qt.processes_under(q.root, "queue-send"), 30, "queue-send")
        trace = q.path("strace.out")
        st = subprocess.Popen(["strace", "-p", str(pid), "-y", "-qq", "-o", trace,
                               "-e", "trace=openat,fsync,fdatasync"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            def traced():
                for line in qt._proc_read(pid, "status").decode().splitlines():
                    if line.startswith("TracerPid:"):
                        return int(line.split()[1]) != 0
                return False
            qt.wait_for(traced, 30, "strace attached to queue-send")
            code, err = q.queue_inject(qt.make_message(1), qt.envelope("bob@remote.test", ALICE, CAROL))
            self.assertEqual(code, 0, err)
            qt.wait_for(lambda: q.maildir_count(ALICE) == 1, 60, "alice delivered at her retry")
            (qid,) = qt.wait_for(lambda: q.queue_entries("stat"), 10, "carol's journal")
            journal = q.path("queue", "stat", qid)
            qt.wait_for(lambda: b"\nD 0\n" in open(journal, "rb").read(), 10, "D 0 in the journal")
        finally:
            st.terminate()
            st.wait(10)
        with open(journal, "rb") as f:
            text = f.read().decode()
        # The journal was made by T records (carol and alice deferred), then got D 0.
        lines = text.splitlines()
        self.assertTrue(lines[1].startswith("T "), text)
        with open(trace) as f:
            calls = f.read().splitlines()
        stat_dir = os.path.realpath(q.path("queue", "stat"))
        sync_journal = [i for i, c in enumerate(calls)
                        if c.startswith("fdatasync(") and (stat_dir + "/" + qid + ">") in c]
        self.assertTrue(sync_journal, "no fdatasync of the journal:\n" + "\n".join(calls[-30:]))
        first = sync_journal[0]
        created = [i for i, c in enumerate(calls[:first]) if "O_CREAT" in c and (stat_dir + "/" + qid) in c]
        self.assertTrue(created, "the journal was made before its first durable record")
        after = calls[first + 1:first + 4]
        self.assertTrue(any(c.startswith("fsync(") and (stat_dir + ">") in c for c in after),
                        "stat/ not fsync'ed after the journal's first durable record:\n" + "\n".join(after))
        qt.note("journal made by %d T record(s); stat/ fsync'ed after its D" % sum(l.startswith("T ") for l in lines))

    # ------------------------------------------------------------ item 4

    def test_a_live_injection_over_an_old_pool_file_survives_check_repair_and_queue_send_start(self):
        q = self.instance()
        for name in q.queue_entries("pool"):
            os.unlink(q.path("queue", "pool", name))
        old = time.time() - 40 * 3600
        parked = pooled_file(q, mtime=old, mode=0o640)
        r, w = os.pipe()
        p = subprocess.Popen([qt.bin_path("queue-inject")], stdin=subprocess.PIPE, stdout=r,
                             stderr=subprocess.PIPE, env=q.env())
        os.close(r)
        try:
            # A long DATA phase: the first half of the message is in, the rest is to come.
            p.stdin.write(qt.make_message(1)[:60])
            p.stdin.flush()
            (name,) = qt.wait_for(lambda: q.queue_entries("tmp"), 10, "the injection's tmp/ file")
            self.assertEqual(str(os.stat(q.path("queue", "tmp", name)).st_ino), parked)
            rep = q.check(repair=True)
            self.assertNotIn("debris", rep.out)
            self.assertEqual(q.queue_entries("tmp"), [name])
            q.up()  # queue-send cleans tmp/ debris when it starts
            def starts():  # queue-send's own start line (local-spawn logs one too)
                return [l for l in q.log_lines("queue-send") if l.get("event") == "start" and "tmp_removed" in l]
            qt.wait_for(starts, 30, "queue-send started")
            start = starts()[-1]
            self.assertEqual(start.get("tmp_removed"), "0")
            self.assertEqual(q.queue_entries("tmp"), [name])
            p.stdin.write(qt.make_message(1)[60:])
            p.stdin.close()
            os.write(w, qt.envelope("bob@remote.test", ALICE))
            os.close(w)
            w = None
            self.assertEqual(p.wait(30), 0, p.stderr.read())
        finally:
            if w is not None:
                os.close(w)
            if p.poll() is None:
                p.kill()
                p.wait()
        (m,) = qt.wait_for(lambda: q.maildir_messages(ALICE), 30, "delivery")
        self.assertEqual(qt.test_number(m), 1)

    def test_a_valid_message_under_the_id_of_a_file_that_did_not_parse_is_delivered(self):
        q = self.instance()
        code, err = q.queue_inject(qt.make_message(5), qt.envelope("bob@remote.test", ALICE))
        self.assertEqual(code, 0, err)
        (qid,) = q.queue_entries("todo")
        aside = q.path("queue", "aside")
        os.rename(q.path("queue", "todo", qid), aside)
        with open(q.path("queue", "todo", qid), "wb") as f:
            f.write(b"not a queue file")
        q.up()
        qt.wait_for(lambda: [l for l in q.log_lines("queue-send") if l.get("event") == "corrupt"], 30,
                    "queue-send finding the file that does not parse")
        # What quail check --repair and a reused inode amount to: the name now holds a message.
        os.unlink(q.path("queue", "todo", qid))
        os.rename(aside, q.path("queue", "todo", qid))
        code, err = q.queue_inject(qt.make_message(6), qt.envelope("bob@remote.test", ALICE))  # pulls the trigger
        self.assertEqual(code, 0, err)
        qt.wait_for(lambda: sorted(qt.test_number(m) for m in q.maildir_messages(ALICE)) == [5, 6], 30,
                    "both messages delivered without a restart")

    # ------------------------------------------------------------ item 10

    def test_databytes_refuses_a_larger_sendmail_message_and_keeps_nothing(self):
        q = self.instance()
        q.write_control("databytes", "2000\n")
        small = qt.make_message(1, size=1500)
        big = qt.make_message(2, size=5000)
        r = q.sendmail([ALICE], small)
        self.assertEqual(r.returncode, 0, r.err)
        r = q.sendmail([ALICE], big)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(len(q.queue_entries("todo")), 1)
        self.assertEqual(q.queue_entries("tmp"), [])
        code, err = q.queue_inject(big, qt.envelope("bob@remote.test", ALICE))
        self.assertEqual(code, 31, err)  # qmail-queue's "message refused", permanent
        self.assertIn("databytes", err)
        self.assertEqual(len(q.queue_entries("todo")), 1)
        q.write_control("databytes", "0\n")  # no limit
        self.assertEqual(q.sendmail([ALICE], big).returncode, 0)
        q.write_control("databytes", "12x\n")
        code, err = q.queue_inject(small, qt.envelope("bob@remote.test", ALICE))
        self.assertEqual(code, 55, err)  # malformed: configuration error, temporary
        self.assertIn("databytes", err)

    def test_databytes_in_session_mode_refuses_one_message_and_the_session_goes_on(self):
        q = self.instance()
        q.write_control("databytes", "2000\n")
        env = qt.envelope("bob@remote.test", ALICE)
        frames = b""
        for m in (qt.make_message(1, size=1500), qt.make_message(2, size=5000), qt.make_message(3)):
            frames += b"D%d\n" % len(m) + m + b"E%d\n" % len(env) + env
        p = subprocess.run([qt.bin_path("queue-inject"), "-s"], input=frames, capture_output=True,
                           env=q.env(), timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        answers = p.stdout.decode().splitlines()
        self.assertEqual(len(answers), 3, answers)
        self.assertTrue(answers[0].startswith("0 K"), answers)
        self.assertTrue(answers[1].startswith("31 "), answers)
        self.assertTrue(answers[2].startswith("0 K"), answers)
        self.assertEqual(len(q.queue_entries("todo")), 2)

    def test_smtp_message_just_under_databytes_is_delivered_though_smtpd_adds_its_received_line(self):
        q = self.instance()
        limit = 3000
        q.write_control("databytes", "%d\n" % limit)
        port = qt.free_port()
        q.up(smtp="127.0.0.1:%d" % port)
        head = b"Subject: at the limit\r\n\r\n"
        line = b"x" * 70 + b"\r\n"
        body = line * ((limit - len(head) - 90) // len(line))
        near = head + body + b"y" * (limit - 16 - len(head) - len(body) - 2) + b"\r\n"  # a few octets under
        self.assertEqual(len(near), limit - 16)
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
            c.sendmail("bob@remote.test", [ALICE], near)
            with self.assertRaises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)):
                c.sendmail("bob@remote.test", [ALICE], near + line * 100)
        (m,) = qt.wait_for(lambda: q.maildir_messages(ALICE), 30, "delivery")
        self.assertIn(b"Subject: at the limit", m)
        self.assertGreater(len(m), limit)  # smtpd's Received: line and queue-inject's made it bigger
        refused = [l for l in q.log_lines() if l.get("event") == "refused" and l.get("code") == "31"]
        self.assertEqual(refused, [])

    def test_a_bounce_over_databytes_returns_the_headers_and_is_not_dropped(self):
        q = self.instance()
        q.write_control("databytes", "3000\n")
        q.up(env={"QUAIL_RETRY_SCALE": SCALE})
        # Within the limit, but its bounce (the whole message plus the report) is not.
        msg = qt.make_message(7, to="nobody@" + DOMAIN, sender=CAROL, size=2500)
        code, err = q.queue_inject(msg, qt.envelope(CAROL, "nobody@" + DOMAIN))
        self.assertEqual(code, 0, err)
        (bounce,) = qt.wait_for(lambda: q.maildir_messages(CAROL), 30, "the bounce to carol")
        self.assertIn(b"multipart/report", bounce)
        self.assertIn(b"X-Quail-Test: 7", bounce)  # the original's header section
        self.assertFalse(b"0123456789abcdefghijklmnopqrstuvwxyz" in bounce.split(b"X-Quail-Test: 7", 1)[1],
                         "the whole message came back in a notice over databytes")
        self.assertLessEqual(len(bounce), 3000 + 1024)
        qt.wait_for(q.queue_empty, 30, "the queue empty")
        self.assertEqual([l for l in q.log_lines("queue-send") if l.get("event") == "dropped"], [])


if __name__ == "__main__":
    unittest.main()
