"""91-system-queue: issue 9's queue defects where they bite, in a --system
instance (queue-inject set-uid quail-queue, queue-send as quail-send, which reads
queue files through the quail group). Needs root; makes a throwaway login.

- `quail up` run from a shell whose umask is 077: SMTP mail is delivered;
- a login whose umask is 077 sends with sendmail, and the message is delivered:
  the queue file is 0640, also when it is written over a pool file parked 0600;
- queue-send (quail-send) takes a message by unlinking its todo/ name: queue-inject
  gave it its durable mess/ name, so queue-send neither links a file it does not
  own (which fs.protected_hardlinks would refuse) nor renames: no take event in
  its log (issue 18);
- a queue file quail-send cannot read (mode 0600, as older injectors left them) is
  never forgotten: queue-send logs it and loads it again, `quail check` reports it,
  `--repair` gives it mode 0640, and it is delivered without a restart (item 1);
- a journal quail-send cannot read keeps its D record: the message waits, logged,
  and once the journal is readable the delivered recipient is not delivered again
  (item 3);
- no failure notice goes out while the D it must follow cannot be made durable
  (stat/ unwritable): the message waits and is settled again (item 3);
- a login running queue-inject itself with QUAIL_NOTICE=1 below the free-space
  floor is refused (82); root is believed;
- an install made before the groups were split (issue 18, weakness 1: every
  service user in group quail, users.cdb, mail/ and remote-deliver group quail):
  `quail check` reports the users and paths, `--repair` moves it to the new
  layout, and mail flows again through smtpd, which reads users.cdb through
  group quail-mail;
- an older install without queue/hold and queue/cmd, and stat/ owned by root:
  `quail check` reports each, `--repair` gives them quail init --system's owners
  and modes, and queue-send then takes a `quail queue` command from cmd/.
"""
import os
import grp
import pwd
import re
import smtplib
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import quailtest as qt  # noqa: E402

LOGIN = "quailsysq"
ALICE = "alice@sys.test"
CAROL = "carol@sys.test"


@unittest.skipUnless(os.geteuid() == 0, "a system install needs root")
class SystemQueueTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        qt.require("quail", "queue-send", "local-spawn", "local-deliver", "sendmail", "queue-inject", "tcpserver",
                   "smtpd")
        cls.pw = qt.add_login(LOGIN, reachable="sendmail")
        cls.q = qt.Instance(prefix="quail-sysq-")
        os.chmod(cls.q.tmp, 0o755)  # the login must reach ROOT/bin
        cls.q.init(hostname="mx.sys.test", domains=("sys.test",), extra=("--system",))
        cls.q.add_user(ALICE)
        cls.q.add_user(CAROL)
        cls.port = qt.free_port()
        cls.up()

    @classmethod
    def up(cls):
        # Started from an administrator's shell whose umask is 077: every service,
        # smtpd's queue-inject included, inherits it.
        old = os.umask(0o077)
        try:
            cls.q.up(env={"QUAIL_RETRY_SCALE": "60"}, smtp="127.0.0.1:%d" % cls.port)
        finally:
            os.umask(old)

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()
        qt.remove_login(LOGIN)

    def as_login(self, umask=0o077):
        def drop():
            os.setgroups([])
            os.setgid(self.pw.pw_gid)
            os.setuid(self.pw.pw_uid)
            os.umask(umask)
        return drop

    def sendmail_as_login(self, data, umask=0o077):
        env = {"PATH": "/usr/bin:/bin", "QUAIL_ROOT": self.q.root, "USER": LOGIN, "HOME": self.pw.pw_dir}
        return subprocess.run([self.q.path("bin", "sendmail"), ALICE], input=data, capture_output=True, env=env,
                              preexec_fn=self.as_login(umask), timeout=60)

    def alice_numbers(self):
        return sorted(qt.test_number(m) for m in self.q.maildir_messages(ALICE))

    def log_events(self, event, **match):
        return [l for l in self.q.log_lines("queue-send") if l.get("event") == event and
                all(l.get(k) == v for k, v in match.items())]

    def load_retries(self, qid):
        """queue-send's load retries of queue file (inode) qid: no message id is known
        before its header is read, so the lines name the file (quail-log(5))."""
        return [l for l in self.log_events("load", result="retry") if l.get("file", "").endswith("/" + qid)]
    def test_a_login_with_umask_077_sends_and_the_message_is_delivered(self):
        before = len(self.alice_numbers())
        r = self.sendmail_as_login(qt.make_message(101, to=ALICE))
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        qt.wait_for(lambda: 101 in self.alice_numbers(), 30, "delivery of the umask-077 message")
        self.assertEqual(len(self.alice_numbers()), before + 1)

    def test_a_login_cannot_claim_the_notice_reserve_below_the_free_space_floor(self):
        # QUAIL_NOTICE=1 lets queue-send's bounces pass below the floor. A login runs
        # the set-uid queue-inject with an environment of its own choosing, so the
        # reserve is believed only from root or stat/'s owner (queue-send's user).
        st = os.statvfs(self.q.path("queue"))
        if st.f_bavail * st.f_frsize >= 1 << 40:
            self.skipTest("over 1 TiB free: queuefreebytes (at most 1 TiB) cannot put this queue below its floor")
        floor = self.q.write_control("queuefreebytes", "1099511627776\n")  # 1 TiB, above what is free here
        env = {"PATH": "/usr/bin:/bin", "QUAIL_ROOT": self.q.root, "QUAIL_NOTICE": "1"}
        inject = [self.q.path("bin", "queue-inject")]
        try:
            code, err = qt.run_with_envelope(inject, qt.make_message(190, to=ALICE), qt.envelope("x@sys.test", ALICE),
                                             env=env, preexec_fn=self.as_login())
            self.assertEqual(code, 82, "a login's QUAIL_NOTICE=1 passed the floor: %s" % err)
            code, err = qt.run_with_envelope(inject, qt.make_message(191, to=ALICE), qt.envelope("x@sys.test", ALICE),
                                             env=env)
            self.assertEqual(code, 0, "root's notice was refused below the floor: %s" % err)
        finally:
            os.unlink(floor)
        qt.wait_for(lambda: 191 in self.alice_numbers(), 30, "delivery of root's message")
        self.assertNotIn(190, self.alice_numbers())

    def test_smtp_mail_is_delivered_when_quail_up_ran_under_umask_077(self):
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as c:
            c.sendmail("someone@elsewhere.test", [ALICE], qt.make_message(100, to=ALICE).replace(b"\n", b"\r\n"))
        qt.wait_for(lambda: 100 in self.alice_numbers(), 30, "delivery of the SMTP message")

    def test_a_pool_file_parked_0600_is_taken_by_a_umask_077_login_and_delivered(self):
        qt.wait_for(self.q.queue_empty, 30, "an idle queue")
        pool = self.q.path("queue", "pool")
        for name in os.listdir(pool):
            os.unlink(os.path.join(pool, name))
        tmp = os.path.join(pool, "parking")
        with open(tmp, "wb") as f:
            f.write(b"old message\n" * 100)
        os.chown(tmp, pwd.getpwnam("quail-queue").pw_uid, grp.getgrnam("quail").gr_gid)
        os.chmod(tmp, 0o600)
        ino = str(os.stat(tmp).st_ino)
        os.rename(tmp, os.path.join(pool, ino))
        r = self.sendmail_as_login(qt.make_message(102, to=ALICE))
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        qt.wait_for(lambda: 102 in self.alice_numbers(), 30, "delivery of the message written over the pool file")
        self.assertIn(ino, [qt.inode_of(l["msg"]) for l in self.log_events("taken")])

    def test_an_unreadable_queue_file_is_retried_reported_repaired_and_delivered(self):
        self.q.down()
        try:
            r = self.sendmail_as_login(qt.make_message(103, to=ALICE))
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            (qid,) = self.q.queue_entries("todo")
            # What an injector under umask 077 left before queue-inject set its mode.
            os.chmod(self.q.path("queue", "todo", qid), 0o600)
        finally:
            self.up()
        qt.wait_for(lambda: len(self.load_retries(qid)) >= 2, 30,
                    "queue-send logging and retrying the unreadable file")
        line = self.load_retries(qid)[0]
        self.assertEqual(line.get("level"), "error")
        self.assertIn("Permission denied", line.get("reason", ""))
        self.assertNotIn(103, self.alice_numbers())
        r = self.q.check()
        self.assertEqual(r.returncode, 1, r.out)
        self.assertIn("queue/todo/%s: mode 0600" % qid, r.out)
        r = self.q.check(repair=True)
        self.assertEqual(r.returncode, 0, r.out)
        qt.wait_for(lambda: 103 in self.alice_numbers(), 30, "delivery after the repair, without a restart")

    def test_an_unreadable_journal_keeps_its_D_and_the_message_is_retried(self):
        qt.wait_for(self.q.queue_empty, 30, "an idle queue")
        carol_qmail = os.path.join(self.q.home(CAROL), ".qmail")
        with open(carol_qmail, "w") as f:
            f.write("|exit 111\n")
        os.chmod(carol_qmail, 0o644)
        try:
            code, err = self.q.queue_inject(qt.make_message(104, to=ALICE), qt.envelope("bob@remote.test", ALICE, CAROL))
            self.assertEqual(code, 0, err)
            qt.wait_for(lambda: 104 in self.alice_numbers(), 30, "alice delivered")
            (qid,) = qt.wait_for(lambda: self.q.queue_entries("stat"), 30, "carol's journal")
            journal = self.q.path("queue", "stat", qid)
            qt.wait_for(lambda: b"\nD 0\n" in open(journal, "rb").read(), 30, "D 0 durable")
            self.q.down()
            with open(journal, "rb") as f:
                records = f.read()
            os.chmod(journal, 0o000)  # EACCES for quail-send: as EMFILE or EIO would be
            self.up()
            qt.wait_for(lambda: len(self.load_retries(qid)) >= 2, 30,
                        "queue-send logging and retrying the unreadable journal")
            with open(journal, "rb") as f:
                self.assertEqual(f.read(), records)  # nothing truncated or rewritten
            os.chmod(journal, 0o640)
            os.unlink(carol_qmail)  # carol's next attempt goes to her Maildir
            qt.wait_for(lambda: self.q.maildir_count(CAROL) == 1, 90, "carol delivered at a retry")
            qt.wait_for(lambda: qid not in self.q.queue_entries("stat"), 30, "the message done")
            self.assertEqual(self.alice_numbers().count(104), 1, "alice delivered once, not again")
        finally:
            if os.path.exists(carol_qmail):
                os.unlink(carol_qmail)

    def test_no_bounce_before_the_D_is_durable_when_the_journal_cannot_be_written(self):
        qt.wait_for(self.q.queue_empty, 30, "an idle queue")
        stat_dir = self.q.path("queue", "stat")
        before = len(self.q.maildir_messages(CAROL))
        journal_errors = len(self.log_events("journal"))
        os.chmod(stat_dir, 0o550)  # quail-send cannot make a journal: as a full disk would
        try:
            code, err = self.q.queue_inject(qt.make_message(105, to=ALICE, sender=CAROL),
                                            qt.envelope(CAROL, ALICE, "nobody@sys.test"))
            self.assertEqual(code, 0, err)
            qt.wait_for(lambda: 105 in self.alice_numbers(), 30, "alice delivered")
            qt.wait_for(lambda: len(self.log_events("journal")) > journal_errors, 30, "the journal error logged")
            time.sleep(2)  # two settle retries at this scale
            self.assertEqual(len(self.q.maildir_messages(CAROL)), before, "a bounce went out before the D was on disk")
            self.assertEqual(len(self.q.queue_entries("mess")), 1, "the message waits in mess/")
        finally:
            os.chmod(stat_dir, 0o750)
        qt.wait_for(lambda: len(self.q.maildir_messages(CAROL)) == before + 1, 30, "the bounce, once D is durable")
        qt.wait_for(self.q.queue_empty, 30, "the message done")
        self.assertEqual(self.alice_numbers().count(105), 1)

    def test_an_old_install_without_hold_and_cmd_is_reported_and_repaired(self):
        qt.wait_for(self.q.queue_empty, 30, "an idle queue")
        self.q.down()
        try:
            # An install made before quail queue hold/retry, and stat/ fixed by hand as root.
            for d in ("hold", "cmd"):
                for name in os.listdir(self.q.path("queue", d)):
                    os.unlink(self.q.path("queue", d, name))
                os.rmdir(self.q.path("queue", d))
            os.chown(self.q.path("queue", "stat"), 0, 0)
            os.chmod(self.q.path("queue", "stat"), 0o700)
            r = self.q.check()
            self.assertEqual(r.returncode, 1, r.out)
            self.assertIn("queue/hold: missing", r.out)
            self.assertIn("queue/cmd: missing", r.out)
            self.assertIn("queue/stat: owner root:root mode 0700, want quail-send:quail 0750", r.out)
            r = self.q.check(repair=True)
            self.assertEqual(r.returncode, 0, r.out)
            want = {"hold": ("quail-queue", 0o2770), "cmd": ("quail-send", 0o750), "stat": ("quail-send", 0o750)}
            for d, (user, mode) in want.items():
                st = os.stat(self.q.path("queue", d))
                self.assertEqual((d, pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name,
                                  st.st_mode & 0o7777), (d, user, "quail", mode))
            r = self.q.check()
            self.assertEqual(r.returncode, 0, r.out)
        finally:
            self.up()
        # queue-send (quail-send) takes quail queue's command out of the repaired cmd/.
        self.q.quail("queue", "retry", "all")
        qt.wait_for(lambda: not self.q.queue_entries("cmd"), 30, "queue-send consuming the command")
        r = self.q.check()  # and the running install is what quail check expects
        self.assertEqual(r.returncode, 0, r.out)

    def test_queue_send_takes_a_message_with_an_unlink_neither_a_link_nor_a_rename(self):
        qt.wait_for(self.q.queue_empty, 30, "an idle queue")
        (pid,) = qt.processes_under(self.q.root, "queue-send")
        trace = os.path.join(self.q.tmp, "take.strace")
        errors = open(trace + ".err", "w+")
        self.addCleanup(errors.close)
        st = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=link,linkat,rename,renameat,renameat2,unlink,unlinkat",
                               "-o", trace, "-p", str(pid)], stderr=errors)
        try:
            def traced():
                status = qt._proc_read(pid, "status").decode()
                return st.poll() is not None or re.search(r"^TracerPid:\s*[1-9]", status, re.M)
            qt.wait_for(traced, 30, "strace attached to queue-send")
            if st.poll() is not None:
                errors.seek(0)
                self.fail("strace: " + errors.read())
            before = len(self.log_events("take"))
            r = self.sendmail_as_login(qt.make_message(107, to=ALICE))
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            qt.wait_for(lambda: 107 in self.alice_numbers(), 30, "delivery of the traced message")
            qt.wait_for(lambda: re.search(r"unlink\S*\(.*todo/\d+", open(trace).read()), 30,
                        "the take in the trace")
        finally:
            st.terminate()
            st.wait(timeout=30)
        lines = open(trace).read().splitlines()
        takes = [l for l in lines if re.search(r"todo/\d+", l) and l.rstrip().endswith("= 0")]
        self.assertTrue(takes, lines)
        # What went through is the unlink (a link tried first meets the mess/ name: EEXIST).
        self.assertTrue(all(re.search(r"\bunlink(at)?\(", l) for l in takes), takes)
        self.assertFalse([l for l in lines if re.search(r"\brename\S*\(.*todo/", l)], lines)  # (mess/ -> pool/ is S5)
        self.assertEqual(len(self.log_events("take")), before, "queue-send fell back to a rename")

    def test_an_install_from_before_the_group_split_is_repaired_by_quail_check(self):
        qt.wait_for(self.q.queue_empty, 30, "an idle queue")
        quail = grp.getgrnam("quail").gr_gid
        self.q.down()
        try:
            # What quail init --system made before: one group for every service user.
            for user in ("quail-queue", "quail-send", "quail-smtpd", "quail-remote", "quail-log", "quail-mail"):
                subprocess.run(["usermod", "--gid", "quail", user], check=True, capture_output=True)
                for g in ("quail", "quail-mail", "quail-send"):
                    subprocess.run(["gpasswd", "--delete", user, g], capture_output=True)
            for d, _, files in os.walk(self.q.path("mail")):
                for n in [d] + [os.path.join(d, f) for f in files]:
                    os.lchown(n, -1, quail)
            for p in ("users", "users/users.cdb", "bin/remote-deliver", "control/smtpauth"):
                if os.path.exists(self.q.path(*p.split("/"))):
                    mode = os.stat(self.q.path(*p.split("/"))).st_mode & 0o7777
                    os.chown(self.q.path(*p.split("/")), -1, quail)
                    os.chmod(self.q.path(*p.split("/")), mode)
            r = self.q.check()
            self.assertEqual(r.returncode, 1, r.out)
            self.assertIn("user quail-smtpd: primary group quail, want quail-smtpd; not in group quail-mail", r.out)
            self.assertIn("users/users.cdb: owner root:quail mode 0640, want root:quail-mail 0640", r.out)
            r = self.q.check(repair=True)
            self.assertEqual(r.returncode, 0, r.out)
            r = self.q.check()
            self.assertEqual(r.returncode, 0, r.out)
            self.assertEqual(grp.getgrgid(os.stat(self.q.home(ALICE)).st_gid).gr_name, "quail-mail")
        finally:
            self.up()
        # smtpd (RCPT to a virtual user: users.cdb) and the delivery work on the repaired install.
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as c:
            c.sendmail("someone@elsewhere.test", [ALICE], qt.make_message(108, to=ALICE).replace(b"\n", b"\r\n"))
        qt.wait_for(lambda: 108 in self.alice_numbers(), 30, "delivery after the upgrade")

    def test_mail_waits_out_a_todo_listing_that_failed_and_is_delivered_without_another_trigger(self):
        qt.wait_for(self.q.queue_empty, 30, "an idle queue")
        todo = self.q.path("queue", "todo")
        mode = os.stat(todo).st_mode & 0o7777
        os.chmod(todo, 0o2730)  # quail-queue may still add to it; quail-send cannot list it
        try:
            code, err = self.q.queue_inject(qt.make_message(106, to=ALICE), qt.envelope("bob@remote.test", ALICE))
            self.assertEqual(code, 0, err)
            qt.wait_for(lambda: [l for l in self.q.log_lines("queue-send")
                                 if l.get("event") == "trigger" and "Permission denied" in l.get("reason", "")],
                        30, "the failed listing logged")
        finally:
            os.chmod(todo, mode)
        qt.wait_for(lambda: 106 in self.alice_numbers(), 30, "delivery without another injection")


if __name__ == "__main__":
    unittest.main()
