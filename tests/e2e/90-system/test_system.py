"""A --system instance (issue 2): each service under its own uid, root only in the
local spawner, a system user's mail in ~/Maildir owned by that user, and local
users injecting with sendmail through a set-uid quail-queue (never root) program.
Needs root (CI runs as root); creates a throwaway login and removes it."""
import os
import pwd
import socket
import smtplib
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import quailtest as qt  # noqa: E402

LOGIN = "quailsys1"


def uid_of(pid):
    for line in qt._proc_read(pid, "status").decode().splitlines():
        if line.startswith("Uid:"):
            return [int(x) for x in line.split()[1:]]
    return None


def user_name(uid):
    return pwd.getpwuid(uid).pw_name


@unittest.skipUnless(os.geteuid() == 0, "a system install needs root")
class SystemInstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        qt.require("quail", "queue-send", "local-spawn", "local-deliver", "sendmail", "tcpserver", "smtpd")
        # ROOT/bin links to the build tree: the login must be able to run programs there.
        cls.pw = qt.add_login(LOGIN, reachable="sendmail")
        maildir = os.path.join(cls.pw.pw_dir, "Maildir")
        for sub in ("", "tmp", "new", "cur"):
            os.makedirs(os.path.join(maildir, sub), exist_ok=True)
            os.chown(os.path.join(maildir, sub), cls.pw.pw_uid, cls.pw.pw_gid)
        cls.q = qt.Instance(prefix="quail-sys-")
        os.chmod(cls.q.tmp, 0o755)  # the login must reach ROOT/bin
        cls.q.init(hostname="mx.sys.test", domains=("sys.test",), extra=("--system",))
        cls.q.add_user("alice@sys.test")
        cls.port = qt.free_port()
        cls.q.up(smtp="127.0.0.1:%d" % cls.port)

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()
        qt.remove_login(LOGIN)

    def as_login(self, argv, data):
        env = {"PATH": "/usr/bin:/bin", "QUAIL_ROOT": self.q.root, "USER": LOGIN, "HOME": self.pw.pw_dir}

        def drop():
            os.setgroups([])
            os.setgid(self.pw.pw_gid)
            os.setuid(self.pw.pw_uid)
        return subprocess.run(argv, input=data, capture_output=True, env=env, preexec_fn=drop, timeout=60)

    def test_each_service_runs_under_its_own_uid_and_only_the_spawner_is_root(self):
        spawner = qt.processes_under(self.q.root, "local-spawn")
        sender = qt.processes_under(self.q.root, "queue-send")
        listener = qt.processes_under(self.q.root, "tcpserver")
        self.assertEqual(len(spawner), 1, "one local-spawn")
        self.assertEqual(len(sender), 1, "one queue-send")
        self.assertEqual(len(listener), 1, "one tcpserver")
        self.assertEqual(uid_of(spawner[0]), [0, 0, 0, 0])
        self.assertEqual({user_name(u) for u in uid_of(sender[0])}, {"quail-send"})
        self.assertEqual({user_name(u) for u in uid_of(listener[0])}, {"quail-smtpd"})
        # An SMTP session: smtpd runs as quail-smtpd too.
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            self.assertTrue(s.recv(512).startswith(b"220"))
            sessions = qt.wait_for(lambda: qt.processes_under(self.q.root, "smtpd"), 10, "an smtpd session")
            self.assertEqual({user_name(u) for u in uid_of(sessions[0])}, {"quail-smtpd"})
        # supervise (one per service) stays root to restart local-spawn and to hand
        # the bound port 25 to tcpserver; it reads nothing from the network.
        supervisors = qt.processes_under(self.q.root, "supervise")
        self.assertEqual(len(supervisors), 2, "one supervise per service")
        root_owned = [pid for pid in qt.processes_under(self.q.root) if uid_of(pid) and 0 in uid_of(pid)]
        self.assertEqual(root_owned, sorted(spawner + supervisors), "nothing but local-spawn and supervise holds root")

    def test_no_setuid_root_program_and_queue_inject_is_setuid_queue_user(self):
        for name in os.listdir(self.q.path("bin")):
            st = os.stat(self.q.path("bin", name))
            if st.st_mode & stat.S_ISUID:
                self.assertNotEqual(st.st_uid, 0, name + " is set-uid root")
        st = os.lstat(self.q.path("bin", "queue-inject"))
        self.assertTrue(stat.S_ISREG(st.st_mode) and st.st_mode & stat.S_ISUID)
        self.assertEqual(user_name(st.st_uid), "quail-queue")

    def test_a_login_sends_with_sendmail_and_mail_lands_owned_by_its_recipient(self):
        before = set(os.listdir(os.path.join(self.pw.pw_dir, "Maildir", "new")))
        msg = b"Subject: system test\n\nfrom a login with no privileges\n"
        r = self.as_login([self.q.path("bin", "sendmail"), LOGIN + "@mx.sys.test", "alice@sys.test"], msg)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        new = os.path.join(self.pw.pw_dir, "Maildir", "new")
        files = qt.wait_for(lambda: set(os.listdir(new)) - before, 30, "mail in ~/Maildir/new")
        path = os.path.join(new, files.pop())
        st = os.stat(path)
        self.assertEqual((st.st_uid, st.st_gid), (self.pw.pw_uid, self.pw.pw_gid))
        with open(path, "rb") as f:
            data = f.read()
        self.assertIn(b"Return-Path: <%s@mx.sys.test>" % LOGIN.encode(), data)
        self.assertTrue(data.endswith(b"from a login with no privileges\n"))
        alice = qt.wait_for(lambda: self.q.maildir_files("alice@sys.test"), 30, "mail for alice")
        self.assertEqual(user_name(os.stat(alice[0]).st_uid), "quail-mail")

    def test_smtp_mail_to_a_login_arrives(self):
        before = set(os.listdir(os.path.join(self.pw.pw_dir, "Maildir", "new")))
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as c:
            c.sendmail("someone@elsewhere.test", [LOGIN + "@mx.sys.test"], b"Subject: over smtp\r\n\r\nhi\r\n")
        new = os.path.join(self.pw.pw_dir, "Maildir", "new")
        files = qt.wait_for(lambda: set(os.listdir(new)) - before, 30, "SMTP mail in ~/Maildir/new")
        self.assertEqual(os.stat(os.path.join(new, files.pop())).st_uid, self.pw.pw_uid)

    def test_queue_send_parks_spent_files_and_a_login_injection_writes_over_one(self):
        # quail-send parks into pool/, the set-uid quail-queue injector takes back out.
        st = os.stat(self.q.path("queue", "pool"))
        self.assertEqual((user_name(st.st_uid), stat.S_IMODE(st.st_mode)), ("quail-queue", 0o2770))
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as c:
            c.sendmail("someone@elsewhere.test", ["alice@sys.test"], b"Subject: to the pool\r\n\r\nhi\r\n")
        pooled = qt.wait_for(lambda: self.q.queue_empty() and self.q.queue_entries("pool"), 30, "a file in pool/")
        self.assertEqual(user_name(os.stat(self.q.path("queue", "pool", pooled[0])).st_uid), "quail-queue")
        taken = [l["msg"] for l in self.q.log_lines("queue-send") if l.get("event") == "taken"]
        r = self.as_login([self.q.path("bin", "sendmail"), "alice@sys.test"], b"Subject: over a pooled file\n\nx\n")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        qt.wait_for(lambda: len([l for l in self.q.log_lines("queue-send") if l.get("event") == "taken"]) > len(taken),
                    30, "the login's message taken")
        last = [l["msg"] for l in self.q.log_lines("queue-send") if l.get("event") == "taken"][-1]
        self.assertIn(last, pooled)



@unittest.skipUnless(os.geteuid() == 0, "needs root to edit /etc/passwd")
class MalformedPasswdTest(unittest.TestCase):
    """quail reads logins from /etc/passwd itself and skips a malformed line; in a
    system install `quail up` says which line, so the administrator hears of it
    before a sender gets a 550."""

    def test_quail_up_names_a_malformed_passwd_line(self):
        q = qt.Instance(prefix="quail-sys-")
        os.chmod(q.tmp, 0o755)  # the services' users must reach ROOT
        with open("/etc/passwd", "rb") as f:
            saved = f.read()
        try:
            q.init(hostname="mx.sys.test", domains=("sys.test",), extra=("--system",))
            with open("/etc/passwd", "ab") as f:
                f.write(b"quailbroken:x:notanumber:100::/nonexistent:/bin/sh\n")
            line = saved.count(b"\n") + 1
            r = q.quail("up", check=False)
            out = (r.stdout or b"") + (r.stderr or b"")
            if isinstance(out, bytes):
                out = out.decode(errors="replace")
            self.assertEqual(r.returncode, 0, out)
            self.assertIn("/etc/passwd line %d is malformed" % line, out)
        finally:
            with open("/etc/passwd", "wb") as f:
                f.write(saved)
            q.cleanup()


if __name__ == "__main__":
    unittest.main()
