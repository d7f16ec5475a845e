"""75-pop3: checkpassword and pop3d end to end. Mail sent over SMTP is downloaded
byte-exact with Python's poplib and with mpop through `quail up --pop3`; wrong
passwords, unknown and disabled users are refused with [AUTH]; a second session on
one maildrop gets [IN-USE]; guessing is slowed; a killed session deletes nothing;
DELE + QUIT is done when the +OK arrives; UIDLs survive sessions and the
new/ -> cur/ move; LIST sizes come from the ,W= local-deliver puts in each name,
and a 100,000-message maildrop so named opens quickly without writing a size
cache. A client that only NOOPs is closed after control/maxjunkpop3d, and one past
control/timeoutpop3dsession at its next command unless it is still downloading
(that one goes on to QUIT). checkpassword is also
run directly with the login on fd 3. Pop3Tls: STLS (RFC 2595) and pop3s
(implicit TLS) with poplib, openssl s_client, the STLS injection defence, and
plaintext logins refused before STLS from an address without PLAINTEXTLOGIN.
"""
import base64
import os
import poplib
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import quailtest as qt

qt.require("quail", "quail-init", "quail-user", "quail-up", "quail-down", "tcpserver", "smtpd",
           "queue-inject", "queue-send", "local-deliver", "pop3d", "checkpassword")

DOMAIN = "example.test"
PASSWORDS = {"alice": "alice secret", "bob": "bob-secret", "carol": "carol-secret", "dave": "dave-secret",
             "erin": "erin-secret", "frank": "frank-secret", "gina": "gina-secret"}


class POP3From(poplib.POP3):
    """poplib.POP3 from a chosen loopback address: failures are counted per client
    address, so the tests that fail logins on purpose each use their own."""

    def __init__(self, host, port, source, timeout):
        self.source = source
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(self.source, 0))


def addr(name):
    return name + "@" + DOMAIN


def wire(stored):
    """The octets RETR sends for a message stored with LF line ends (without the
    stuffing dots, which poplib removes): every LF as CRLF."""
    out = stored.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return out if out.endswith(b"\r\n") or not out else out + b"\r\n"


class Pop3(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.q = qt.Instance()
        try:
            cls.q.init("mx." + DOMAIN, [DOMAIN])
            for name, pw in PASSWORDS.items():
                cls.q.add_user(addr(name), pw)
            # These tests count failures per client address (127.0.0.2, .3, .4):
            # plaintext logins from all of 127/8 here (TLS is Pop3Tls's subject).
            with open(os.path.join(cls.q.root, "control", "rules.pop3"), "w") as f:
                f.write('127.:allow,PLAINTEXTLOGIN=""\n:allow\n')
            cls.smtp_port = qt.free_port()
            cls.pop_port = qt.free_port()
            cls.q.up(smtp="127.0.0.1:%d" % cls.smtp_port, pop3="127.0.0.1:%d" % cls.pop_port)
        except BaseException:
            cls.q.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()

    # ---------------------------------------------------------------- helpers

    def send_smtp(self, to, message):
        with smtplib.SMTP("127.0.0.1", self.smtp_port, local_hostname="client.example.test", timeout=60) as s:
            s.sendmail("sender@remote.test", [to], message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))

    def deliver(self, name, n, **kw):
        """Sends message n to name over SMTP and waits for it in the Maildir."""
        before = len(self.q.maildir_files(addr(name)))
        msg = qt.make_message(n, to=addr(name), **kw)
        self.send_smtp(addr(name), msg)
        qt.wait_for(lambda: len(self.q.maildir_files(addr(name))) > before, 60, "delivery to " + name)
        return msg

    def pop(self, name=None, password=None, source="127.0.0.1"):
        p = POP3From("127.0.0.1", self.pop_port, source, 60)
        self.addCleanup(self.close_quietly, p)
        if name:
            p.user(addr(name))
            p.pass_(password if password is not None else PASSWORDS[name])
        return p

    @staticmethod
    def close_quietly(p):
        p.close()

    def stored(self, name):
        """{unique name: bytes} of the messages in name's Maildir."""
        out = {}
        for path in self.q.maildir_files(addr(name)):
            with open(path, "rb") as f:
                out[os.path.basename(path).split(":")[0]] = f.read()
        return out

    def transaction_pids(self):
        return [p for p in qt.processes_under(self.q.root, "pop3d")
                if b"transaction" in qt._proc_read(p, "cmdline")]

    # ------------------------------------------------------------------ tests

    def test_poplib_downloads_smtp_mail_byte_exact(self):
        body = (b"first line\r\n.starts with a dot\r\n..two dots\r\n.\r\n8bit: caf\xc3\xa9\r\n"
                + b"x" * 990 + b"\r\nlast line without more")
        msgs = [self.deliver("alice", 1), self.deliver("alice", 2, body=body)]
        stored = self.stored("alice")
        p = self.pop("alice")
        count, octets = p.stat()
        self.assertEqual(count, 2)
        uidls = {int(l.split()[0]): l.split()[1].decode() for l in p.uidl()[1]}
        sizes = {int(l.split()[0]): int(l.split()[1]) for l in p.list()[1]}
        self.assertEqual(octets, sum(sizes.values()))
        for n in (1, 2):
            resp, lines, _ = p.retr(n)
            got = b"\r\n".join(lines) + b"\r\n"
            self.assertEqual(got, wire(stored[uidls[n]]), "message %d" % n)
            self.assertEqual(sizes[n], len(got), "LIST size of message %d" % n)
            # local-deliver put that size in the name (,W=): pop3d did not have to read the file.
            self.assertRegex(uidls[n], r",W=\d+$")
            self.assertEqual(int(uidls[n].rsplit(",W=", 1)[1]), sizes[n])
            self.assertEqual(qt.strip_trace(got.replace(b"\r\n", b"\n")),
                             qt.strip_trace(msgs[n - 1].replace(b"\r\n", b"\n")).rstrip(b"\n") + b"\n")
        top = p.top(2, 1)[1]
        self.assertEqual(top[-2:], [b"", b"first line"])
        p.quit()

    def test_mpop_downloads_and_deletes(self):
        if not shutil.which("mpop"):
            self.skipTest("mpop is not installed (make deps)")
        msgs = [self.deliver("bob", n) for n in (11, 12, 13)]
        stored = self.stored("bob")
        work = tempfile.mkdtemp(prefix="quail-mpop-")
        self.addCleanup(shutil.rmtree, work, True)
        box = os.path.join(work, "Maildir")
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(box, sub))
        conf = os.path.join(work, "mpoprc")
        with open(conf, "w") as f:
            f.write("account quail\nhost 127.0.0.1\nport %d\nuser %s\nauth user\ntls off\n"
                    "passwordeval echo %s\ndelivery maildir %s\nkeep off\nreceived_header off\n"
                    "uidls_file %s/uidls\n" % (self.pop_port, addr("bob"), PASSWORDS["bob"], box, work))
        os.chmod(conf, 0o600)
        r = subprocess.run(["mpop", "-C", conf, "-q", "quail"], capture_output=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr.decode("utf-8", "replace"))
        got = []
        for sub in ("new", "cur"):
            for name in os.listdir(os.path.join(box, sub)):
                with open(os.path.join(box, sub, name), "rb") as f:
                    got.append(f.read())
        self.assertEqual(sorted(got), sorted(stored.values()))
        self.assertEqual(len(msgs), len(got))
        qt.wait_for(lambda: not self.q.maildir_files(addr("bob")), 30, "bob's maildrop emptied by mpop")

    def test_wrong_password_unknown_and_disabled_users_are_refused_with_auth(self):
        for user, pw in ((addr("carol"), "wrong"), ("nobody@" + DOMAIN, "whatever"), ("root", "x")):
            p = self.pop(source="127.0.0.2")
            p.user(user)
            with self.assertRaises(poplib.error_proto) as e:
                p.pass_(pw)
            self.assertTrue(e.exception.args[0].startswith(b"-ERR [AUTH]"), e.exception.args[0])
        self.q.quail("user", "disable", addr("erin"))
        p = self.pop(source="127.0.0.2")
        p.user(addr("erin"))
        with self.assertRaises(poplib.error_proto) as e:
            p.pass_(PASSWORDS["erin"])
        self.assertTrue(e.exception.args[0].startswith(b"-ERR [AUTH]"))
        self.q.quail("user", "enable", addr("erin"))
        self.pop("erin").quit()
        logs = "\n".join(r["_line"] for r in self.q.log_lines("pop3"))
        self.assertIn("user=%s ip=127.0.0.2 reason=\"wrong password\"" % addr("carol"), logs)
        for pw in PASSWORDS.values():
            self.assertNotIn(pw, logs)

    def test_auth_plain_logs_in(self):
        p = self.pop()
        self.assertIn(b"SASL PLAIN", b" ".join(p._longcmd("CAPA")[1]))
        token = base64.b64encode(b"\0" + addr("frank").encode() + b"\0" + PASSWORDS["frank"].encode()).decode()
        self.assertTrue(p._shortcmd("AUTH PLAIN " + token).startswith(b"+OK"))
        self.assertEqual(p.stat()[0], 0)
        p.quit()
        p = self.pop(source="127.0.0.4")
        bad = base64.b64encode(b"\0" + addr("frank").encode() + b"\0nope").decode()
        with self.assertRaises(poplib.error_proto) as e:
            p._shortcmd("AUTH PLAIN " + bad)
        self.assertTrue(e.exception.args[0].startswith(b"-ERR [AUTH]"))

    def test_second_session_on_a_maildrop_is_in_use(self):
        first = self.pop("gina")
        second = self.pop()
        second.user(addr("gina"))
        with self.assertRaises(poplib.error_proto) as e:
            second.pass_(PASSWORDS["gina"])
        self.assertTrue(e.exception.args[0].startswith(b"-ERR [IN-USE]"), e.exception.args[0])
        first.quit()
        self.pop("gina").quit()
        # A killed session leaves no lock behind.
        s = self.pop("gina")
        qt.wait_for(lambda: self.transaction_pids(), 10, "the transaction step")
        for pid in self.transaction_pids():
            os.kill(pid, signal.SIGKILL)
        qt.wait_for(lambda: not self.transaction_pids(), 10, "the session killed")
        self.pop("gina").quit()

    def test_guessing_is_delayed(self):
        elapsed = []
        for _ in range(4):
            p = self.pop(source="127.0.0.3")
            p.user(addr("dave"))
            t = time.monotonic()
            with self.assertRaises(poplib.error_proto):
                p.pass_("guess")
            elapsed.append(time.monotonic() - t)
        qt.note("wrong passwords 1-4: " + ", ".join("%.2f s" % e for e in elapsed))
        self.assertGreaterEqual(elapsed[3], 1.9, "the 4th wrong password in a row waits 2 s")
        # A right password after the delay still works, and clears the count.
        self.pop("dave", source="127.0.0.3").quit()
        p = self.pop(source="127.0.0.3")
        p.user(addr("dave"))
        t = time.monotonic()
        with self.assertRaises(poplib.error_proto):
            p.pass_("guess")
        self.assertLess(time.monotonic() - t, 1.9 + 10)

    def test_killed_session_deletes_nothing_and_quit_deletes_for_good(self):
        for n in (21, 22, 23):
            self.deliver("carol", n)
        before = sorted(self.stored("carol"))
        p = self.pop("carol")
        p.dele(1)
        p.dele(2)
        for pid in self.transaction_pids():
            os.kill(pid, signal.SIGKILL)
        qt.wait_for(lambda: not self.transaction_pids(), 10, "the session killed")
        self.assertEqual(sorted(self.stored("carol")), before)
        self.assertEqual(len(self.q.maildir_files(addr("carol"), subdirs=("new",))), 3, "nothing moved either")

        p = self.pop("carol")
        uidls = [l.split()[1].decode() for l in p.uidl()[1]]
        p.dele(1)
        p.sock.sendall(b"QUIT\r\n")
        self.assertTrue(p.file.readline().startswith(b"+OK"))
        for pid in self.transaction_pids():
            os.kill(pid, signal.SIGKILL)
        self.assertEqual(sorted(self.stored("carol")), sorted(uidls[1:]))
        self.assertEqual(self.q.maildir_files(addr("carol"), subdirs=("new",)), [], "the rest moved to cur/")
        # The UIDLs survive the session and the move to cur/.
        p = self.pop("carol")
        self.assertEqual([l.split()[1].decode() for l in p.uidl()[1]], uidls[1:])
        p.rset()
        p.quit()

    def test_pipelined_login_and_commands(self):
        self.deliver("frank", 31)
        s = socket.create_connection(("127.0.0.1", self.pop_port), timeout=60)
        self.addCleanup(s.close)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"+OK"))
        s.sendall(b"USER %s\r\nPASS %s\r\nSTAT\r\nNOOP\r\nQUIT\r\n" % (addr("frank").encode(), PASSWORDS["frank"].encode()))
        replies = [f.readline() for _ in range(5)]
        self.assertTrue(all(r.startswith(b"+OK") for r in replies), replies)
        self.assertTrue(replies[2].startswith(b"+OK 1 "), replies)

    def test_large_maildrop_opens_quickly(self):
        count = int(os.environ.get("E2E_POP3_COUNT", "100000"))
        home = os.path.join(self.q.root, "mail", DOMAIN, "bulk")
        self.q.add_user(addr("bulk"), "bulk-secret")
        new = os.path.join(home, "Maildir", "new")
        body = b"Subject: bulk\n\nsmall message\n"
        t = time.monotonic()
        # Named as local-deliver names them, with the wire size (3 LFs become CRLFs).
        for i in range(count):
            fd = os.open(os.path.join(new, "%d.M%dP1Q1.bulk,W=%d" % (1700000000 + i // 1000, i, len(body) + 3)),
                         os.O_WRONLY | os.O_CREAT, 0o600)
            os.write(fd, body)
            os.close(fd)
        made = time.monotonic() - t
        timings = []
        for _ in range(2):  # the first login counts the sizes once; the second reads them from the cache
            p = POP3From("127.0.0.1", self.pop_port, "127.0.0.1", 300)
            self.addCleanup(self.close_quietly, p)
            p.user(addr("bulk"))
            t = time.monotonic()
            p.pass_("bulk-secret")
            self.assertEqual(p.stat(), (count, count * (len(body) + 3)))
            timings.append(time.monotonic() - t)
            p.close()
            qt.wait_for(lambda: not self.transaction_pids(), 120, "the session ended")
            # Every size came from a name: nothing was counted, so no size cache was written.
            self.assertFalse(os.path.exists(os.path.join(home, "Maildir", "quail-pop3-sizes")))
        qt.note("%d messages made in %.1f s; login to STAT %.2f s first, %.2f s second (argon2id included)"
                % (count, made, timings[0], timings[1]))
        self.assertLess(timings[1], 10.0, "a cached maildrop opens fast (make bench measures it)")
        p = self.pop("alice")
        p.quit()


    def limit(self, name, value):
        """control/<name> set to value for this test (pop3d reads it per session)."""
        self.q.write_control(name, "%d\n" % value)
        self.addCleanup(os.unlink, self.q.path("control", name))
        self.log_start = len(self.q.log_lines("pop3"))

    def session_limits(self):
        """The limit= of each event=session_limit logged since limit() was called."""
        return [r["limit"] for r in self.q.log_lines("pop3")[self.log_start:] if r.get("event") == "session_limit"]

    def assert_closed_with(self, p, command, text):
        """command gets -ERR with text, then the server closes the connection."""
        with self.assertRaises(poplib.error_proto) as e:
            p._shortcmd(command)
        self.assertTrue(e.exception.args[0].startswith(b"-ERR"), e.exception.args[0])
        self.assertIn(text, e.exception.args[0])
        p.sock.settimeout(30)
        self.assertEqual(p.sock.recv(100), b"", "the connection is closed")

    def test_a_client_that_only_noops_is_closed_after_maxjunkpop3d(self):
        self.limit("maxjunkpop3d", 5)
        self.q.add_user(addr("hank"), "hank-secret")
        for n in (41, 42):
            self.deliver("hank", n)
        # Before login: CAPA and USER over and over log no one in.
        p = self.pop()
        for _ in range(5):
            p._shortcmd("USER " + addr("hank"))
        self.assert_closed_with(p, "CAPA", b"too many commands without a login")
        # After login: the count starts again at each first download of a message.
        p = self.pop("hank", "hank-secret")
        for _ in range(4):
            p.noop()
        p.stat()
        p.retr(1)
        for _ in range(4):
            p.noop()
        p.list()
        p.retr(2)
        p.retr(1)  # fetched again: that moves nothing
        for _ in range(4):
            p.noop()
        self.assert_closed_with(p, "NOOP", b"too many commands without a download")
        self.assertEqual(self.session_limits(), ["junk", "junk"])
        # Closed without QUIT: nothing deleted; a fresh session is served.
        p = self.pop("hank", "hank-secret")
        self.assertEqual(p.stat()[0], 2)
        p.quit()

    def test_a_session_past_its_lifetime_ends_but_a_download_goes_on_to_quit(self):
        self.limit("timeoutpop3dsession", 2)
        for name in ("iris", "jack"):
            self.q.add_user(addr(name), name + "-secret")
            for n in (51, 52):
                self.deliver(name, n)
        idle = self.pop("iris", "iris-secret")
        busy = self.pop("jack", "jack-secret")
        self.assertEqual(busy.stat()[0], 2)
        busy.retr(1)
        busy.dele(1)
        started = time.monotonic()
        time.sleep(2.5)  # past the lifetime, counted from the connections (before it)
        self.assertGreater(time.monotonic() - started, 2.0)
        # A client still fetching is served to its QUIT, which deletes.
        busy.retr(2)
        busy.dele(2)
        self.assertTrue(busy.quit().startswith(b"+OK"))
        qt.wait_for(lambda: not self.q.maildir_files(addr("jack")), 30, "jack's maildrop emptied at QUIT")
        # One that only holds its connection is closed, its deletions not made.
        self.assert_closed_with(idle, "NOOP", b"session lasted too long")
        self.assertEqual(len(self.q.maildir_files(addr("iris"))), 2)
        self.assertEqual(self.session_limits(), ["lifetime"])


class CheckpasswordDirect(unittest.TestCase):
    """checkpassword run as pop3d runs it, with the login on fd 3."""

    @classmethod
    def setUpClass(cls):
        cls.q = qt.Instance()
        try:
            cls.q.init("mx." + DOMAIN, [DOMAIN])
            cls.q.add_user(addr("alice"), "alice secret")
        except BaseException:
            cls.q.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()

    def run_cp(self, data, argv=("/bin/sh", "-c", "env; echo CWD=$(pwd -P)"), env=None):
        r, w = os.pipe()
        os.write(w, data)
        os.close(w)
        try:
            e = self.q.env(env)
            e["TCPREMOTEIP"] = "192.0.2.7"
            res = subprocess.run([qt.bin_path("checkpassword")] + list(argv), pass_fds=(r,), env=e,
                                 preexec_fn=lambda: os.dup2(r, 3), capture_output=True, timeout=120)
        finally:
            os.close(r)
        return res

    def test_a_right_login_runs_the_program_with_user_home_and_maildir(self):
        r = self.run_cp(b"ALICE@example.test\0alice secret\0\0")
        self.assertEqual(r.returncode, 0, r.stderr)
        env = dict(l.split("=", 1) for l in r.stdout.decode().splitlines() if "=" in l)
        home = os.path.join(self.q.root, "mail", DOMAIN, "alice")
        self.assertEqual(env["USER"], addr("alice"))
        self.assertEqual(env["HOME"], home)
        self.assertEqual(env["MAILDIR"], home + "/Maildir/")
        self.assertEqual(env["TCPREMOTEIP"], "192.0.2.7")
        self.assertEqual(env["CWD"], os.path.realpath(home))

    def test_refusals_and_usage(self):
        self.assertEqual(self.run_cp(b"alice@example.test\0wrong\0\0").returncode, 1)
        self.assertEqual(self.run_cp(b"nobody@example.test\0x\0\0").returncode, 1)
        self.assertEqual(self.run_cp(b"alice@example.test\0no-terminator").returncode, 2)
        self.assertEqual(self.run_cp(b"a" * 600 + b"\0b\0\0").returncode, 2)
        self.assertEqual(self.run_cp(b"alice@example.test\0alice secret\0\0", argv=()).returncode, 2)
        r = self.run_cp(b"alice@example.test\0alice secret\0\0", argv=("/nonexistent/prog",))
        self.assertEqual(r.returncode, 111)
        self.assertNotIn(b"alice secret", r.stderr)

    def lock_out(self, key):
        """Writes a slot of ROOT/run/login-failures by its spec (queue-layout/logins.md):
        10 failures just now for key ("u\\0<name>" or "a\\0<address>")."""
        import hashlib
        import struct
        digest = hashlib.blake2b(key, digest_size=16).digest()
        index = struct.unpack("<I", digest[:4])[0] % 1024
        path = self.q.path("run", "login-failures")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.pwrite(fd, digest + struct.pack("<IIq", 10, 0, int(time.time())), index * 32)
        finally:
            os.close(fd)

    def test_a_locked_name_is_refused_unchecked_and_pop3d_says_login_delay(self):
        self.q.add_user(addr("locked"), "locked-secret")
        self.assertEqual(self.run_cp(b"locked@example.test\0locked-secret\0\0").returncode, 0)
        self.lock_out(b"u\0" + addr("locked").encode())
        t = time.monotonic()
        r = self.run_cp(b"locked@example.test\0locked-secret\0\0")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertLess(time.monotonic() - t, 10, "refused without a wait or a hash check")
        self.assertIn(b"result=locked", r.stderr)
        # pop3d run directly (as tcpserver would, on pipes, with a PLAINTEXTLOGIN rule)
        # turns exit 3 into [LOGIN-DELAY].
        p = subprocess.run([qt.bin_path("pop3d")], input=b"USER locked@example.test\r\nPASS locked-secret\r\n",
                           capture_output=True, env=self.q.env({"TCPREMOTEIP": "192.0.2.8", "PLAINTEXTLOGIN": ""}),
                           timeout=60)
        replies = p.stdout.split(b"\r\n")
        self.assertTrue(replies[2].startswith(b"-ERR [LOGIN-DELAY]"), replies)
        # Another name is not locked by it.
        self.assertEqual(self.run_cp(b"alice@example.test\0alice secret\0\0").returncode, 0)


if __name__ == "__main__":
    unittest.main()


def client_context():
    """Accepts quail init's self-signed certificate."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Pop3Tls(unittest.TestCase):
    """quail init's rules.pop3 as written: PLAINTEXTLOGIN for 127.0.0.1 and ::1
    only, so a client on 127.0.0.2 stands for one from the network."""

    @classmethod
    def setUpClass(cls):
        cls.q = qt.Instance()
        try:
            cls.q.init("mx." + DOMAIN, [DOMAIN])
            for name in ("alice", "bob", "carol"):
                cls.q.add_user(addr(name), PASSWORDS[name])
            cls.smtp_port = qt.free_port()
            cls.pop_port = qt.free_port()
            cls.pops_port = qt.free_port()
            cls.q.up(smtp="127.0.0.1:%d" % cls.smtp_port, pop3="127.0.0.1:%d" % cls.pop_port,
                     pop3s="127.0.0.1:%d" % cls.pops_port)
        except BaseException:
            cls.q.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()

    def deliver(self, name, subject):
        msg = ("From: sender@remote.test\nTo: %s\nSubject: %s\n\nbody of %s\n.dot line\n\xc3\xa9\n"
               % (addr(name), subject, subject)).encode()
        before = len(self.q.maildir_files(addr(name)))
        with smtplib.SMTP("127.0.0.1", self.smtp_port, local_hostname="client.example.test", timeout=60) as s:
            s.sendmail("sender@remote.test", [addr(name)], msg.replace(b"\n", b"\r\n"))
        qt.wait_for(lambda: len(self.q.maildir_files(addr(name))) > before, 60, "delivery to " + name)
        [path] = self.q.maildir_files(addr(name))[-1:]
        with open(path, "rb") as f:
            return f.read()

    def retrieved(self, p):
        return b"\r\n".join(p.retr(1)[1]) + b"\r\n"

    def test_poplib_stls_from_the_network_refuses_plaintext_then_downloads_byte_exact(self):
        stored = self.deliver("alice", "over stls")
        p = POP3From("127.0.0.1", self.pop_port, "127.0.0.2", 60)
        self.addCleanup(p.close)
        caps = p.capa()
        self.assertIn("STLS", caps)
        self.assertNotIn("USER", caps, "no plaintext login offered before TLS")
        with self.assertRaises(poplib.error_proto) as e:
            p.user(addr("alice"))
        self.assertTrue(str(e.exception).startswith("b'-ERR [AUTH]"), e.exception)
        with self.assertRaises(poplib.error_proto) as e:
            p._shortcmd("AUTH PLAIN " + base64.b64encode(b"\0alice@example.test\0alice secret").decode())
        self.assertIn("[AUTH]", str(e.exception))
        p.stls(client_context())
        caps = p.capa()
        self.assertIn("USER", caps)
        self.assertNotIn("STLS", caps, "no second STLS under TLS")
        p.user(addr("alice"))
        p.pass_(PASSWORDS["alice"])
        self.assertEqual(self.retrieved(p), wire(stored))
        p.quit()
        qt.wait_for(lambda: [l for l in self.q.log_lines("pop3") if l.get("event") == "starttls"
                             and l.get("result") == "ok" and l.get("protocol") in ("TLSv1.2", "TLSv1.3")],
                    20, "a starttls log line")

    def test_pop3s_downloads_byte_exact(self):
        stored = self.deliver("bob", "over pop3s")
        p = poplib.POP3_SSL("127.0.0.1", self.pops_port, timeout=60, context=client_context())
        self.addCleanup(p.close)
        self.assertIn(p.sock.version(), ("TLSv1.2", "TLSv1.3"))
        caps = p.capa()
        self.assertIn("USER", caps)
        self.assertNotIn("STLS", caps)
        p.user(addr("bob"))
        p.pass_(PASSWORDS["bob"])
        self.assertEqual(self.retrieved(p), wire(stored))
        p.quit()

    def test_openssl_s_client_starttls_pop3_is_tls12_or_better(self):
        r = subprocess.run(["openssl", "s_client", "-starttls", "pop3", "-connect", "127.0.0.1:%d" % self.pop_port,
                            "-brief"], input=b"QUIT\r\n", capture_output=True, timeout=60)
        out = (r.stdout + r.stderr).decode(errors="replace")
        self.assertIn("CONNECTION ESTABLISHED", out)
        self.assertRegex(out, r"Protocol version: TLSv1\.[23]")
        r = subprocess.run(["openssl", "s_client", "-starttls", "pop3", "-connect", "127.0.0.1:%d" % self.pop_port,
                            "-tls1_1", "-brief"], input=b"QUIT\r\n", capture_output=True, timeout=60)
        self.assertNotIn("CONNECTION ESTABLISHED", (r.stdout + r.stderr).decode(errors="replace"))

    def test_stls_injection_is_discarded(self):
        s = socket.create_connection(("127.0.0.1", self.pop_port), timeout=30, source_address=("127.0.0.2", 0))
        self.addCleanup(s.close)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"+OK"))
        # STLS and a command in one packet: the CAPA must never be answered.
        s.sendall(b"STLS\r\nCAPA\r\n")
        self.assertTrue(f.readline().startswith(b"+OK"))
        t = client_context().wrap_socket(s, server_hostname="mx.example.test")
        t.sendall(b"NOOP\r\n")
        tf = t.makefile("rb")
        self.assertEqual(tf.readline(), b"-ERR not logged in\r\n", "NOOP's answer, not a capability list")
        t.sendall(b"QUIT\r\n")
        self.assertTrue(tf.readline().startswith(b"+OK"))
        t.close()
        qt.wait_for(lambda: [l for l in self.q.log_lines("pop3")
                             if l.get("event") == "starttls" and l.get("dropped") == "6"],
                    20, "starttls log line with dropped=6")

    def test_loopback_may_log_in_without_tls(self):
        self.deliver("carol", "plain on loopback")
        p = POP3From("127.0.0.1", self.pop_port, "127.0.0.1", 60)
        self.addCleanup(p.close)
        self.assertIn("USER", p.capa())
        p.user(addr("carol"))
        p.pass_(PASSWORDS["carol"])
        self.assertEqual(p.stat()[0], 1)
        p.quit()
