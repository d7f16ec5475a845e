"""57-tls/test_resident_tlsd: the resident tlsd (tlsd -d, man/tlsd.8 "Resident
mode"). With a certificate in control/tls/, quail up starts it, and a STARTTLS
(smtpd) or STLS (pop3d) gets its tlsd forked from it, OpenSSL already started,
instead of exec'd: the handshake, the relay and the log lines are the same. A
replaced certificate is presented from the next connection. When the resident
tlsd is absent, or dies with a session's hello unread, the session starts its
own tlsd and the client sees nothing; a tlsd that crashes makes the resident one
exit, and supervise starts a fresh one."""
import hashlib
import os
import poplib
import signal
import socket
import smtplib
import ssl
import subprocess
import threading
import time
import unittest

import quailtest as qt

qt.require("quail", "quail-init", "quail-up", "quail-down", "smtpd", "tlsd", "tcpserver", "supervise", "pop3d",
           "checkpassword")

USER = "alice@example.test"
PASSWORD = "alice-secret-1"


def client_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


comm, parent_of = qt.comm, qt.parent_of

other_uid_can_connect, closed_by_peer = qt.other_uid_can_connect, qt.closed_by_peer


class ResidentBase(unittest.TestCase):
    """An instance with TLS (quail init makes its certificate) and helpers; no tests."""

    @classmethod
    def setUpClass(cls):
        cls.q = qt.Instance()
        # Reachable by every uid down to run/, so only the socket's own mode
        # keeps another uid out (test_only_the_sessions_user_...).
        os.chmod(cls.q.tmp, 0o755)
        try:
            cls.q.init("mx.example.test", ["example.test"])
            cls.q.add_user(USER, PASSWORD)
            cls.smtp_port, cls.pop3_port, cls.smtps_port, cls.pop3s_port = (qt.free_port() for _ in range(4))
            cls.q.up(smtp="127.0.0.1:%d" % cls.smtp_port, pop3="127.0.0.1:%d" % cls.pop3_port,
                     smtps="127.0.0.1:%d" % cls.smtps_port, pop3s="127.0.0.1:%d" % cls.pop3s_port)
        except Exception:
            cls.q.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()

    def setUp(self):
        # supervise's back-off after a test's kill doubles with each exit, up to 60 s.
        self.resident = qt.wait_for(lambda: self.resident_pid(), 90, "the resident tlsd")
        qt.wait_for(lambda: os.path.exists(self.sock), 10, "its socket")

    @property
    def sock(self):
        return self.q.path("run", "tlsd.sock")

    def resident_pid(self):
        return qt.process_named(self.q.root, b"tlsd-forks")

    def session_tlsds(self):
        return [p for p in qt.processes_under(self.q.root, "tlsd")]

    def starttls(self):
        s = smtplib.SMTP("127.0.0.1", self.smtp_port, local_hostname="client.example.test", timeout=60)
        s.ehlo()
        code, _ = s.starttls(context=client_context())
        self.assertEqual(code, 220)
        s.ehlo()
        return s

    def send(self, subject):
        s = self.starttls()
        try:
            s.sendmail("bob@elsewhere.test", [USER], ("Subject: %s\r\n\r\nhi\r\n" % subject).encode())
        finally:
            s.quit()
        qt.wait_for(lambda: any(("Subject: %s" % subject).encode() in m for m in self.q.maildir_messages(USER)),
                    60, "the message %r" % subject)

    def certificate(self):
        """The SHA-256 of the certificate a STARTTLS session presents."""
        s = self.starttls()
        try:
            return hashlib.sha256(s.sock.getpeercert(binary_form=True)).hexdigest()
        finally:
            s.quit()

    def in_backlog(self):
        return qt.unix_backlog(self.sock)


class ResidentTlsd(ResidentBase):
    def test_status_lists_it(self):
        out = self.q.quail("status").out
        self.assertIn("tlsd running pid=%d" % self.resident, out)
        self.assertEqual(os.stat(self.sock).st_mode & 0o777, 0o600)

    def test_starttls_forks_from_the_resident_tlsd(self):
        s = self.starttls()
        try:
            helpers = qt.wait_for(self.session_tlsds, 10, "the session's tlsd")
            self.assertEqual(len(helpers), 1, helpers)
            self.assertEqual(parent_of(helpers[0]), self.resident)
            self.assertEqual(comm(helpers[0]), b"tlsd")
            # Its log lines go where the session's do (smtpd's stderr, passed over).
            where = lambda pid: (lambda st: (st.st_dev, st.st_ino))(os.stat("/proc/%d/fd/2" % pid))
            self.assertIn(where(helpers[0]), {where(p) for p in self.q.pids("smtpd")})
            self.assertNotEqual(where(helpers[0]), where(self.resident))
            self.assertIn(s.sock.version(), ("TLSv1.2", "TLSv1.3"))
            s.sendmail("bob@elsewhere.test", [USER], b"Subject: through the resident tlsd\r\n\r\nhi\r\n")
        finally:
            s.quit()
        qt.wait_for(lambda: any(b"through the resident tlsd" in m for m in self.q.maildir_messages(USER)), 60,
                    "the message")
        qt.wait_for(lambda: not self.session_tlsds(), 10, "the session's tlsd gone with it")
        ok = [e for e in self.q.log_lines("smtp") if e.get("event") == "starttls" and e.get("result") == "ok"]
        self.assertTrue(ok)

    def test_pop3_stls_too(self):
        p = poplib.POP3("127.0.0.1", self.pop3_port, timeout=60)
        try:
            p.stls(context=client_context())
            self.assertEqual(parent_of(qt.wait_for(self.session_tlsds, 10, "the session's tlsd")[0]), self.resident)
            p.user(USER)
            p.pass_(PASSWORD)
            p.stat()
        finally:
            p.quit()

    def test_implicit_tls_smtpd_starts_it_through_the_resident_tlsd(self):
        # 465: tcpserver runs smtpd (forked from its fork server), which starts
        # TLS before its greeting; nothing runs in front of it.
        s = smtplib.SMTP_SSL("127.0.0.1", self.smtps_port, local_hostname="client.example.test",
                             context=client_context(), timeout=60)
        try:
            self.assertEqual(s.ehlo()[0], 250)
            helper = qt.wait_for(self.session_tlsds, 10, "the session's tlsd")[0]
            self.assertEqual(parent_of(helper), self.resident)
            smtpds = self.q.pids("smtpd")
            self.assertTrue(smtpds)
            self.assertTrue(all(comm(parent_of(p)) == b"smtpd-forks" for p in smtpds), smtpds)
            s.login(USER, PASSWORD)
            s.sendmail(USER, [USER], ("From: %s\r\nSubject: over 465\r\n\r\nhi\r\n" % USER).encode())
        finally:
            s.quit()
        qt.wait_for(lambda: any(b"Subject: over 465" in m for m in self.q.maildir_messages(USER)), 60, "the message")
        tls = [e for e in self.q.log_lines("smtps") if e.get("event") == "tls" and e.get("protocol")]
        self.assertTrue(tls)

    def test_pop3s_starts_it_through_the_resident_tlsd(self):
        p = poplib.POP3_SSL("127.0.0.1", self.pop3s_port, context=client_context(), timeout=60)
        try:
            self.assertTrue(p.getwelcome().startswith(b"+OK"))
            helper = qt.wait_for(self.session_tlsds, 10, "the session's tlsd")[0]
            self.assertEqual(parent_of(helper), self.resident)
            p.user(USER)
            p.pass_(PASSWORD)
            p.stat()
        finally:
            p.quit()
        self.assertTrue([e for e in self.q.log_lines("pop3s") if e.get("event") == "tls" and e.get("protocol")])

    def test_each_forked_tlsd_draws_its_own_randomness(self):
        # The forked processes must not repeat the resident tlsd's random state:
        # the same ServerHello random would mean the same ephemeral keys.
        randoms, parents = [], []
        for _ in range(3):
            p = subprocess.Popen(["openssl", "s_client", "-starttls", "smtp", "-connect", "127.0.0.1:%d" % self.smtp_port,
                                  "-msg", "-tls1_3"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL)
            try:
                parents.append(parent_of(qt.wait_for(self.session_tlsds, 20, "the session's tlsd")[0]))
                out, _ = p.communicate(b"QUIT\n", timeout=30)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            lines = out.decode(errors="replace").splitlines()
            at = [i for i, line in enumerate(lines) if "ServerHello" in line and "<<<" in line]
            self.assertTrue(at, "no ServerHello in s_client's output")
            randoms.append("".join(lines[at[0] + 1:at[0] + 4]).split())
            qt.wait_for(lambda: not self.session_tlsds(), 10, "the session's tlsd gone")
        self.assertEqual(parents, [self.resident] * 3)
        # Bytes 6 to 37 of the handshake message: the server's random.
        self.assertEqual(len({tuple(r[6:38]) for r in randoms}), 3, randoms)

    @unittest.skipUnless(os.geteuid() == 0, "switching to another uid needs root")
    def test_only_the_sessions_user_reaches_it_and_a_bad_hello_changes_nothing(self):
        ok, err = other_uid_can_connect(self.sock)
        self.assertFalse(ok, "another uid connected to the resident tlsd")
        self.assertIn("PermissionError", err)
        # Our own uid, a proper line but no descriptors with it: that process
        # refuses and ends, and the resident tlsd goes on serving.
        with socket.socket(socket.AF_UNIX) as c:
            c.connect(self.sock)
            c.sendall(b"T192.0.2.1\n")
            self.assertTrue(closed_by_peer(c))
        with socket.socket(socket.AF_UNIX) as c:
            c.connect(self.sock)
            c.sendall(b"\x16\x03\x01 not a hello at all\n")
            self.assertTrue(closed_by_peer(c))
        refused = [e for e in self.q.log_lines("tlsd") if e.get("event") == "refused"]
        self.assertGreaterEqual(len(refused), 2, refused)
        self.assertEqual(self.resident_pid(), self.resident)
        self.assertNotEqual(self.certificate(), "")

    def test_a_replaced_certificate_counts_from_the_next_connection(self):
        before = self.certificate()
        tls = self.q.path("control", "tls")
        saved = {n: open(os.path.join(tls, n), "rb").read() for n in ("cert.pem", "key.pem")}
        try:
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                            "-nodes", "-subj", "/CN=new.example.test", "-days", "2",
                            "-keyout", os.path.join(tls, "key.new"), "-out", os.path.join(tls, "cert.new")],
                           check=True, capture_output=True)
            os.chmod(os.path.join(tls, "key.new"), 0o600)
            os.rename(os.path.join(tls, "key.new"), os.path.join(tls, "key.pem"))
            os.rename(os.path.join(tls, "cert.new"), os.path.join(tls, "cert.pem"))
            after = self.certificate()
            self.assertNotEqual(after, before)
            self.assertEqual(self.certificate(), after)
            self.assertEqual(self.resident_pid(), self.resident)  # reloaded, not restarted
        finally:
            for n, data in saved.items():
                with open(os.path.join(tls, n + ".old"), "wb") as f:
                    f.write(data)
                os.chmod(os.path.join(tls, n + ".old"), 0o600 if n == "key.pem" else 0o644)
                os.rename(os.path.join(tls, n + ".old"), os.path.join(tls, n))
        self.assertEqual(self.certificate(), before)

    def test_without_the_resident_tlsd_sessions_start_their_own(self):
        os.rename(self.sock, self.sock + ".aside")
        try:
            s = self.starttls()
            try:
                helpers = qt.wait_for(self.session_tlsds, 10, "the session's tlsd")
                self.assertIn(parent_of(helpers[0]), self.q.pids("smtpd"))
            finally:
                s.quit()
        finally:
            os.rename(self.sock + ".aside", self.sock)

    def test_killed_with_a_session_waiting_the_session_starts_its_own(self):
        os.kill(self.resident, signal.SIGSTOP)
        result = {}

        def session():
            try:
                s = self.starttls()
                try:
                    result["helper_parent"] = parent_of(self.session_tlsds()[0])
                    result["smtpd"] = self.q.pids("smtpd")
                    result["noop"] = s.noop()[0]
                finally:
                    s.quit()
            except Exception as e:  # noqa: BLE001 - reported below
                result["error"] = repr(e)
        t = threading.Thread(target=session)
        try:
            t.start()
            qt.wait_for(lambda: self.in_backlog() >= 1, 20, "the session's hello in the backlog")
            time.sleep(0.2)
        finally:
            os.kill(self.resident, signal.SIGKILL)
        t.join(60)
        self.assertFalse(t.is_alive())
        self.assertNotIn("error", result, result)
        self.assertEqual(result["noop"], 250)
        self.assertIn(result["helper_parent"], result["smtpd"])  # its own tlsd

    def test_a_crashed_tlsd_retires_the_resident_one(self):
        s = self.starttls()
        try:
            helper = qt.wait_for(self.session_tlsds, 10, "the session's tlsd")[0]
            os.kill(helper, signal.SIGSEGV)
            qt.wait_for(lambda: self.resident_pid() != self.resident, 30, "the resident tlsd gone")
        finally:
            try:
                s.quit()
            except (smtplib.SMTPException, OSError):
                pass  # its tlsd is gone: so is the session
        events = [e["event"] for e in self.q.log_lines("tlsd") if e.get("event") in ("child-signaled", "exiting")]
        self.assertEqual(events[-2:], ["child-signaled", "exiting"])
        new = qt.wait_for(self.resident_pid, 90, "a fresh resident tlsd")
        self.assertNotEqual(new, self.resident)
        self.send("after the crash")


class ResidentTlsdUnderLoad(ResidentBase):
    """Its own instance: the kills leave supervise in a long back-off."""

    def test_killed_under_load_no_session_fails(self):
        subjects, errors = [], []
        lock = threading.Lock()
        stop = time.monotonic() + 10

        def client(k):
            n = 0
            while time.monotonic() < stop:
                n += 1
                subject = "tls load %d %d" % (k, n)
                try:
                    s = self.starttls()
                    try:
                        s.sendmail("bob@elsewhere.test", [USER], ("Subject: %s\r\n\r\nx\r\n" % subject).encode())
                    finally:
                        s.quit()
                    with lock:
                        subjects.append(subject)
                except (smtplib.SMTPException, OSError, ssl.SSLError) as e:
                    with lock:
                        errors.append(repr(e))
        threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        kills = qt.kill_repeatedly(self.resident_pid, stop - 1)
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        self.assertGreaterEqual(kills, 3)  # supervise restarts after 1, 2, 4 s...

        def delivered():
            heads = self.q.maildir_messages(USER)
            return all(any(("Subject: %s\n" % sub).encode() in m for m in heads) for sub in subjects)
        qt.wait_for(delivered, 120, "every accepted message delivered")
        failed = [e["_line"] for e in self.q.log_lines("smtp") if e.get("event") == "starttls"
                  and e.get("result") != "ok"]
        self.assertEqual(failed, [])
        qt.note("%d sessions over STARTTLS, %d kills" % (len(subjects), kills))


if __name__ == "__main__":
    unittest.main()
