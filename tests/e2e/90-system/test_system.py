"""A --system instance (issue 2): each service under its own uid, root only in the
local spawner, a system user's mail in ~/Maildir owned by that user, and local
users injecting with sendmail through a set-uid quail-queue (never root) program.
Issue 9 items 6-8: logins with 0755, 0750 and 0700 homes and their extensions
receive over SMTP and sendmail (smtpd, unprivileged, validates through the home
table), system accounts are refused at RCPT, an alias's \\user lands as that user.
Needs root (CI runs as root); creates throwaway logins and removes them."""
import os
import pwd
import socket
import smtplib
import ssl
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import quailtest as qt  # noqa: E402

LOGIN = "quailsys1"
# More logins, by the mode of their home: Ubuntu's 0750 and Fedora's 0700.
PRIVATE = {"quailsys5": 0o750, "quailsys7": 0o700}
# A login (uid >= 1000) whose home belongs to someone else: not a mailbox.
NOT_OWNER = "quailsysx"


def make_maildir(pw, name="Maildir"):
    for sub in ("", "tmp", "new", "cur"):
        path = os.path.join(pw.pw_dir, name, sub)
        os.makedirs(path, exist_ok=True)
        os.chown(path, pw.pw_uid, pw.pw_gid)


def new_files(pw, name="Maildir"):
    return set(os.listdir(os.path.join(pw.pw_dir, name, "new")))


def uid_of(pid):
    for line in qt._proc_read(pid, "status").decode().splitlines():
        if line.startswith("Uid:"):
            return [int(x) for x in line.split()[1:]]
    return None


def ppid_of(pid):
    for line in qt._proc_read(pid, "status").decode().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
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
        os.chmod(cls.pw.pw_dir, 0o755)
        make_maildir(cls.pw)
        cls.private = {}
        for name, mode in PRIVATE.items():
            pw = qt.add_login(name)
            os.chmod(pw.pw_dir, mode)
            make_maildir(pw)
            cls.private[name] = pw
        # quailsys7-lists@ follows ~quailsys7/.qmail-lists into ~/Lists/.
        pw7 = cls.private["quailsys7"]
        make_maildir(pw7, "Lists")
        dotqmail = os.path.join(pw7.pw_dir, ".qmail-lists")
        with open(dotqmail, "w") as f:
            f.write("./Lists/\n")
        os.chown(dotqmail, pw7.pw_uid, pw7.pw_gid)
        cls.not_owner = qt.add_login(NOT_OWNER)
        os.chown(cls.not_owner.pw_dir, 0, 0)
        cls.q = qt.Instance(prefix="quail-sys-")
        os.chmod(cls.q.tmp, 0o755)  # the login must reach ROOT/bin
        cls.q.init(hostname="mx.sys.test", domains=("sys.test",), extra=("--system",))
        cls.q.add_user("alice@sys.test")
        cls.port = qt.free_port()
        cls.q.up(smtp="127.0.0.1:%d" % cls.port)

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()
        for name in [LOGIN, NOT_OWNER] + list(PRIVATE):
            qt.remove_login(name)

    def rcpt(self, address):
        """The (code, text) RCPT TO:<address> gets over SMTP from an outsider."""
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as c:
            c.ehlo("client.elsewhere.test")
            c.mail("someone@elsewhere.test")
            return c.rcpt(address)

    def wait_accepted(self, address):
        """Waits for RCPT TO:<address> to get 250. A home changed in the last
        seconds may get 451 until local-spawn has listed it again, never 550."""
        seen = []

        def accepted():
            seen.append(self.rcpt(address)[0])
            return seen[-1] == 250
        qt.wait_for(accepted, 30, "RCPT %s accepted" % address)
        self.assertEqual(set(seen) - {250, 451}, set(), seen)

    def wait_delivered(self, pw, marker, count=1, name="Maildir"):
        """Waits for `count` messages holding `marker` in pw's Maildir `name`
        (other mail, a bounce say, may arrive meanwhile), checks each belongs to
        pw (the delivery ran as the login), returns their paths."""
        new = os.path.join(pw.pw_dir, name, "new")

        def marked():
            out = []
            for f in new_files(pw, name):
                with open(os.path.join(new, f), "rb") as fh:
                    if marker in fh.read():
                        out.append(os.path.join(new, f))
            return len(out) >= count and out
        paths = qt.wait_for(marked, 60, "%d messages with %r in %s" % (count, marker, new))
        for p in paths:
            self.assertEqual((os.stat(p).st_uid, os.stat(p).st_gid), (pw.pw_uid, pw.pw_gid), p)
        return paths

    def as_login(self, argv, data):
        env = {"PATH": "/usr/bin:/bin", "QUAIL_ROOT": self.q.root, "USER": LOGIN, "HOME": self.pw.pw_dir}

        def drop():
            os.setgroups([])
            os.setgid(self.pw.pw_gid)
            os.setuid(self.pw.pw_uid)
        return subprocess.run(argv, input=data, capture_output=True, env=env, preexec_fn=drop, timeout=60)

    def test_each_service_runs_under_its_own_uid_and_only_the_spawner_is_root(self):
        # local-spawn's own children are root for a moment (a delivery child before
        # it becomes its user, the home table's refresher every 5 s): not counted.
        spawners = qt.processes_under(self.q.root, "local-spawn")
        spawner = [p for p in spawners if ppid_of(p) not in spawners]
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
        self.assertEqual(len(supervisors), 4, "one supervise per service: queue-send, queue-inject, tlsd, smtp")
        # The resident injector bound its socket as root, then became quail-queue for good.
        injector = [p for p in qt.processes_under(self.q.root, "queue-inject") if ppid_of(p) in supervisors]
        self.assertEqual(len(injector), 1, "one resident queue-inject")
        self.assertEqual({user_name(u) for u in uid_of(injector[0])}, {"quail-queue"})
        # The resident tlsd too, then became quail-smtpd.
        tlsd = [p for p in qt.processes_under(self.q.root) if ppid_of(p) in supervisors
                and qt._proc_read(p, "comm").strip() == b"tlsd-forks"]
        self.assertEqual(len(tlsd), 1, "one resident tlsd")
        self.assertEqual({user_name(u) for u in uid_of(tlsd[0])}, {"quail-smtpd"})
        root_owned = [pid for pid in qt.processes_under(self.q.root) if uid_of(pid) and 0 in uid_of(pid)
                      and ppid_of(pid) not in spawner]
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

    def test_tls_key_is_the_smtpd_users_alone_and_starttls_works_as_that_user(self):
        st = os.stat(self.q.path("control", "tls", "key.pem"))
        self.assertEqual(pwd.getpwuid(st.st_uid).pw_name, "quail-smtpd")
        self.assertEqual(st.st_mode & 0o777, 0o400)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as c:
            c.starttls(context=ctx)
            self.assertIn(c.sock.version(), ("TLSv1.2", "TLSv1.3"))
            self.assertEqual(c.ehlo()[0], 250)

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
        self.assertIn(qt.inode_of(last), pooled)


    # ------------------------------------------------ issue 9 items 6-8

    def test_logins_with_private_homes_receive_over_smtp_and_sendmail(self):
        # Item 6: smtpd (quail-smtpd) cannot enter a 0700 or 0750 home; it answered
        # 451 to every RCPT for such a login before the home table.
        logins = dict(self.private, **{LOGIN: self.pw})
        for name in logins:
            self.assertEqual(self.rcpt(name + "@mx.sys.test")[0], 250, name)
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as c:
            c.sendmail("someone@elsewhere.test", [n + "@mx.sys.test" for n in logins],
                       b"Subject: to private homes\r\n\r\nhi\r\n")
        r = self.as_login([self.q.path("bin", "sendmail")] + [n + "@mx.sys.test" for n in logins],
                          b"Subject: to private homes by sendmail\n\nhello\n")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        for pw in logins.values():
            self.wait_delivered(pw, b"Subject: to private homes", count=2)

    def test_an_extension_in_a_private_home_is_followed(self):
        pw = self.private["quailsys7"]
        self.wait_accepted("quailsys7-lists@mx.sys.test")
        code, text = self.rcpt("quailsys7-nosuchlist@mx.sys.test")
        self.assertEqual((code, text[:5]), (550, b"5.1.1"))
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as c:
            c.sendmail("someone@elsewhere.test", ["quailsys7-lists@mx.sys.test"], b"Subject: ext\r\n\r\nx\r\n")
        r = self.as_login([self.q.path("bin", "sendmail"), "quailsys7-lists@mx.sys.test"], b"Subject: ext2\n\ny\n")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.wait_delivered(pw, b"Subject: ext", count=2, name="Lists")

    def test_an_extension_just_created_is_deferred_never_refused(self):
        # The home table lags a new .qmail-ext by at most local-spawn's refresh
        # (5 s): until then smtpd says 451 (the sender retries), never 550.
        pw = self.private["quailsys5"]
        dotqmail = os.path.join(pw.pw_dir, ".qmail-fresh")
        with open(dotqmail, "w") as f:
            f.write("./Maildir/\n")
        os.chown(dotqmail, pw.pw_uid, pw.pw_gid)
        self.wait_accepted("quailsys5-fresh@mx.sys.test")
        os.unlink(dotqmail)
        qt.wait_for(lambda: self.rcpt("quailsys5-fresh@mx.sys.test")[0] == 550, 30, "a removed extension refused")

    def test_quail_homes_makes_a_new_extension_known_at_once(self):
        # The administrator's refresh: when `quail homes` returns, the table is current.
        pw = self.private["quailsys7"]
        dotqmail = os.path.join(pw.pw_dir, ".qmail-now")
        with open(dotqmail, "w") as f:
            f.write("./Maildir/\n")
        os.chown(dotqmail, pw.pw_uid, pw.pw_gid)
        try:
            out = self.q.quail("homes").stdout
            self.assertIn(b"quail homes:", out if isinstance(out, bytes) else out.encode())
            self.assertEqual(self.rcpt("quailsys7-now@mx.sys.test")[0], 250)
        finally:
            os.unlink(dotqmail)

    def test_system_accounts_and_logins_without_their_own_home_are_refused_at_rcpt(self):
        # Item 7: below control/minuid (1000), or a home the login does not own.
        for name in ("bin", "daemon", "sys", "quail-send", "quail-mail", NOT_OWNER):
            try:
                pwd.getpwnam(name)
            except KeyError:
                continue
            code, text = self.rcpt(name + "@mx.sys.test")
            self.assertEqual((code, text[:5]), (550, b"5.1.1"), name)

    def test_a_system_account_is_refused_at_local_delivery_too(self):
        # Injected locally (no RCPT check): local-deliver refuses it at once, 5.1.1,
        # instead of deferring for a week in a home bin does not own.
        r = self.as_login([self.q.path("bin", "sendmail"), "bin@mx.sys.test"], b"Subject: to bin\n\nx\n")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        failed = qt.wait_for(lambda: [l for l in self.q.log_lines() if l.get("event") == "failed"
                                      and l.get("to") == "bin@mx.sys.test"], 30, "bin@ refused at delivery")
        self.assertIn("5.1.1", failed[0]["reason"])

    def test_an_alias_backslash_user_lands_as_that_user(self):
        # Item 8: \user in an alias delivered as quail-mail into the login's
        # Maildir: EACCES in a 0700 home, or a file the login could not read.
        logins = dict(self.private, **{LOGIN: self.pw})
        self.q.write_control("aliases", "team: " + ", ".join("\\" + n for n in sorted(logins)) + "\n")
        self.q.quail("aliases")
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as c:
            c.sendmail("someone@elsewhere.test", ["team@mx.sys.test"], b"Subject: team\r\n\r\nall\r\n")
        for pw in logins.values():
            self.wait_delivered(pw, b"Delivered-To: team@mx.sys.test")


@unittest.skipUnless(os.geteuid() == 0, "a system install needs root")
class SystemPop3Test(unittest.TestCase):
    """checkpassword and pop3d in a system install: a login's /etc/shadow hash
    (crypt(3)), root and system accounts never, the session run as the login (a
    virtual user's as quail-mail)."""
    LOGIN = "quailpop1"
    PASSWORD = "pop3 shadow pass"

    @classmethod
    def setUpClass(cls):
        qt.require("quail", "tcpserver", "pop3d", "checkpassword")
        cls.pw = qt.add_login(cls.LOGIN, reachable="pop3d")
        subprocess.run(["chpasswd"], input=("%s:%s\n" % (cls.LOGIN, cls.PASSWORD)).encode(), check=True)
        new = os.path.join(cls.pw.pw_dir, "Maildir", "new")
        for sub in ("", "tmp", "new", "cur"):
            os.makedirs(os.path.join(cls.pw.pw_dir, "Maildir", sub), exist_ok=True)
            os.chown(os.path.join(cls.pw.pw_dir, "Maildir", sub), cls.pw.pw_uid, cls.pw.pw_gid)
        cls.message = b"Subject: for a login\n\n.a dot line\nbody\n"
        path = os.path.join(new, "1700000000.M1P1Q1.sys")
        with open(path, "wb") as f:
            f.write(cls.message)
        os.chown(path, cls.pw.pw_uid, cls.pw.pw_gid)
        cls.q = qt.Instance(prefix="quail-syspop-")
        os.chmod(cls.q.tmp, 0o755)
        cls.q.init(hostname="mx.sys.test", domains=("sys.test",), extra=("--system",))
        cls.q.add_user("alice@sys.test", "alice-secret")
        cls.port = qt.free_port()
        cls.q.up(pop3="127.0.0.1:%d" % cls.port)

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()
        qt.remove_login(cls.LOGIN)

    def checkpassword(self, user, password):
        r, w = os.pipe()
        os.write(w, user.encode() + b"\0" + password.encode() + b"\0\0")
        os.close(w)
        try:
            return subprocess.run([self.q.path("bin", "checkpassword"), "/bin/sh", "-c", "id -u; echo $HOME; echo $MAILDIR"],
                                  pass_fds=(r,), preexec_fn=lambda: os.dup2(r, 3), env=self.q.env(),
                                  capture_output=True, timeout=60)
        finally:
            os.close(r)

    def test_checkpassword_takes_a_shadow_login_and_becomes_it(self):
        r = self.checkpassword(self.LOGIN, self.PASSWORD)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout.decode().split("\n")[:3],
                         [str(self.pw.pw_uid), self.pw.pw_dir, self.pw.pw_dir + "/Maildir/"])
        self.assertEqual(self.checkpassword(self.LOGIN, "wrong").returncode, 1)
        # root and system accounts never log in, whatever their password.
        self.assertEqual(self.checkpassword("root", "anything").returncode, 1)
        self.assertEqual(self.checkpassword("daemon", "anything").returncode, 1)

    def test_pop3_login_downloads_as_the_login_and_virtual_users_as_quail_mail(self):
        import poplib
        p = poplib.POP3("127.0.0.1", self.port, timeout=60)
        p.user(self.LOGIN)
        p.pass_(self.PASSWORD)
        self.assertEqual(p.stat()[0], 1)
        lines = p.retr(1)[1]
        self.assertEqual(b"\n".join(lines) + b"\n", self.message)
        sessions = [x for x in qt.processes_under(self.q.root, "pop3d") if b"transaction" in qt._proc_read(x, "cmdline")]
        self.assertEqual(len(sessions), 1)
        self.assertEqual(set(uid_of(sessions[0])), {self.pw.pw_uid})
        p.quit()
        p = poplib.POP3("127.0.0.1", self.port, timeout=60)
        p.user("alice@sys.test")
        p.pass_("alice-secret")
        sessions = [x for x in qt.processes_under(self.q.root, "pop3d") if b"transaction" in qt._proc_read(x, "cmdline")]
        self.assertEqual({user_name(u) for u in uid_of(sessions[0])}, {"quail-mail"})
        p.quit()


@unittest.skipUnless(os.geteuid() == 0, "needs root to edit /etc/passwd")
class MalformedPasswdTest(unittest.TestCase):
    """quail reads logins from /etc/passwd itself and skips a malformed line; in a
    system install `quail up` says which line, so the administrator hears of it
    before a sender gets a 550."""

    def test_quail_up_names_a_malformed_passwd_line(self):
        q = qt.Instance(prefix="quail-sys-")
        os.chmod(q.tmp, 0o755)  # the services' users must reach ROOT
        broken = b"quailbroken:x:notanumber:100::/nonexistent:/bin/sh\n"
        lines = []
        try:
            q.init(hostname="mx.sys.test", domains=("sys.test",), extra=("--system",))

            def add(text):
                lines.append(text.count(b"\n") + 1)
                return text + broken
            qt.edit_passwd(add)
            line = lines[0]
            r = q.quail("up", check=False)
            out = (r.stdout or b"") + (r.stderr or b"")
            if isinstance(out, bytes):
                out = out.decode(errors="replace")
            self.assertEqual(r.returncode, 0, out)
            self.assertIn("/etc/passwd line %d is malformed" % line, out)
        finally:
            # Only our line comes out, under the lock: putting back a copy saved
            # before would undo whatever useradd/userdel did meanwhile (the bench's
            # login lost this way bounced its mail, bench/README.md).
            if lines:
                qt.edit_passwd(lambda text: text.replace(broken, b""))
            q.cleanup()


if __name__ == "__main__":
    unittest.main()
