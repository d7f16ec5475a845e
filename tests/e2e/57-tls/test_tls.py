"""TLS, SMTP AUTH and submission end to end: quail up with --smtp, --submission
(587-style, STARTTLS) and --smtps (465-style, implicit TLS through tlsd), talked
to by openssl s_client, swaks, msmtp and smtplib. Checks the handshake (TLS 1.2+),
the STARTTLS injection defence, AUTH's refusals (535, 538, the third failure),
relaying only after AUTH from an address without RELAYCLIENT (127.0.0.2), the
submission sender rules (553 at MAIL, 550 for From:), Date and Message-ID added,
and the Received line (ESMTPSA, the cipher, the login). Loopback only."""
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import quailtest as qt  # noqa: E402

qt.require("quail", "quail-init", "quail-up", "quail-down", "quail-user", "quail-rules", "tcpserver", "smtpd",
           "tlsd", "checkpassword", "queue-inject", "queue-send", "local-deliver")

ALICE = "alice@example.test"
ALICE_PW = "alice's long passphrase"
BOB = "bob@example.test"      # used for the wrong-password tests, so alice's login is never slowed
BOB_PW = "bob's long passphrase"
CAROL = "carol@example.test"  # the three-failures test
CAROL_PW = "carol's long passphrase"


def client_context():
    """A client context that accepts quail init's self-signed certificate."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def message(sender, to, subject, extra=""):
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\n%s\r\nbody of %s\r\n" % (sender, to, subject, extra, subject)).encode()


class TlsAuthSubmission(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.q = qt.Instance(prefix="quail-e2e-tls-")
        qt.register_cleanup(cls.q)
        cls.q.init()
        cls.q.add_user(ALICE, ALICE_PW)
        cls.q.add_user(BOB, BOB_PW)
        cls.q.add_user(CAROL, CAROL_PW)
        cls.smtp = qt.free_port()
        cls.sub = qt.free_port()
        cls.smtps = qt.free_port()
        cls.q.up(smtp="127.0.0.1:%d" % cls.smtp, submission="127.0.0.1:%d" % cls.sub,
                 smtps="127.0.0.1:%d" % cls.smtps)

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()

    # -- helpers
    def delivered(self, subject, addr=ALICE, timeout=60):
        def find():
            for data in self.q.maildir_messages(addr):
                if ("Subject: " + subject).encode() in data:
                    return data
            return None
        return qt.wait_for(find, timeout=timeout, what="delivery of " + subject)

    def smtp_from(self, port, source="127.0.0.1"):
        c = smtplib.SMTP("127.0.0.1", port, timeout=30, source_address=(source, 0))
        self.addCleanup(self._close, c)
        return c

    @staticmethod
    def _close(c):
        try:
            c.close()
        except Exception:
            pass

    # -- TLS itself
    def test_openssl_s_client_starttls_handshake_is_tls12_or_better(self):
        r = subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-connect", "127.0.0.1:%d" % self.smtp,
                            "-brief"], input=b"QUIT\r\n", capture_output=True, timeout=60)
        out = (r.stdout + r.stderr).decode(errors="replace")
        self.assertIn("CONNECTION ESTABLISHED", out)
        self.assertRegex(out, r"Protocol version: TLSv1\.[23]")
        self.assertIn("CN = mx.example.test", out)

    def test_smtpd_holds_no_openssl_code_and_tlsd_does(self):
        # DESIGN.md principle 6: a plaintext session never loads OpenSSL.
        with open(qt.bin_path("smtpd"), "rb") as f:
            smtpd = f.read()
        self.assertNotIn(b"SSL_CTX_new", smtpd)
        self.assertNotIn(b"libssl", smtpd)
        with open(qt.bin_path("tlsd"), "rb") as f:
            self.assertIn(b"SSL_CTX_new", f.read())

    def test_tls_1_1_is_refused(self):
        r = subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-connect", "127.0.0.1:%d" % self.smtp,
                            "-tls1_1", "-brief"], input=b"QUIT\r\n", capture_output=True, timeout=60)
        self.assertNotIn("CONNECTION ESTABLISHED", (r.stdout + r.stderr).decode(errors="replace"))

    def test_starttls_injection_is_discarded(self):
        s = socket.create_connection(("127.0.0.1", self.smtp), timeout=30)
        self.addCleanup(s.close)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"220 "))
        s.sendall(b"EHLO injector.test\r\n")
        lines = []
        while True:
            line = f.readline()
            lines.append(line)
            if line[3:4] == b" ":
                break
        self.assertIn(b"250-STARTTLS\r\n", lines)
        # STARTTLS and a command in one packet: the RSET must never be answered.
        s.sendall(b"STARTTLS\r\nRSET\r\n")
        self.assertTrue(f.readline().startswith(b"220 2.0.0"))
        t = client_context().wrap_socket(s, server_hostname="mx.example.test")
        t.sendall(b"NOOP\r\n")
        tf = t.makefile("rb")
        first = tf.readline()
        self.assertEqual(first, b"250 2.0.0 ok\r\n")  # NOOP's, not an RSET's answer before it
        t.sendall(b"MAIL FROM:<x@example.test>\r\n")
        self.assertTrue(tf.readline().startswith(b"503 5.5.1"), "the session must restart: EHLO again")
        t.sendall(b"QUIT\r\n")
        self.assertTrue(tf.readline().startswith(b"221 "))
        t.close()
        qt.wait_for(lambda: [l for l in self.q.log_lines("smtp")
                             if l.get("event") == "starttls" and l.get("dropped") == "6"],
                    timeout=20, what="starttls log line with dropped=6")

    # -- AUTH
    def test_smtplib_starttls_login_relays_from_an_address_without_relay_rights(self):
        c = self.smtp_from(self.smtp, source="127.0.0.2")
        c.ehlo("client.test")
        self.assertFalse(c.has_extn("auth"), "no AUTH before TLS from 127.0.0.2")
        code, _ = c.docmd("AUTH", "PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABhYmM=")
        self.assertEqual(code, 538)
        c.mail("someone@example.test")
        code, _ = c.rcpt("friend@remote.test")
        self.assertEqual(code, 554, "relaying without AUTH")
        c.rset()
        c.starttls(context=client_context())
        c.ehlo("client.test")
        self.assertTrue(c.has_extn("auth"))
        self.assertNotIn("starttls", c.esmtp_features)
        c.login(ALICE, ALICE_PW)
        c.mail(ALICE)
        code, _ = c.rcpt("friend@remote.test")
        self.assertEqual(code, 250, "an authenticated session may relay")
        c.rset()
        c.sendmail(ALICE, [ALICE], message(ALICE, ALICE, "smtplib-starttls"))
        c.quit()
        data = self.delivered("smtplib-starttls")
        self.assertRegex(data, rb"with ESMTPSA \(TLSv1\.[23] [A-Z0-9_-]+\)")
        self.assertIn(b"(authenticated as alice@example.test)", data)

    def test_wrong_password_is_535_and_never_logged(self):
        c = self.smtp_from(self.smtp)
        c.starttls(context=client_context())
        c.ehlo("client.test")
        with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
            c.login(BOB, "not bob's passphrase")
        self.assertEqual(cm.exception.smtp_code, 535)
        c.quit()
        logs = open(self.q.path("log", "smtp.log"), errors="replace").read()
        self.assertIn("event=auth result=fail", logs)
        self.assertNotIn("not bob's passphrase", logs)
        self.assertNotIn(BOB_PW, logs)

    def test_third_failure_ends_the_session(self):
        s = socket.create_connection(("127.0.0.1", self.smtp), timeout=60)
        self.addCleanup(s.close)
        t = None
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"EHLO x\r\nSTARTTLS\r\n")
        while not f.readline().startswith(b"220 "):
            pass
        t = client_context().wrap_socket(s, server_hostname="mx.example.test")
        tf = t.makefile("rb")
        t.sendall(b"EHLO x\r\n")
        while tf.readline()[3:4] != b" ":
            pass
        import base64
        bad = base64.b64encode(b"\0" + CAROL.encode() + b"\0wrong").decode()
        codes = []
        for _ in range(3):
            t.sendall(("AUTH PLAIN %s\r\n" % bad).encode())
            codes.append(tf.readline()[:3])
        self.assertEqual(codes, [b"535", b"535", b"421"])
        self.assertEqual(tf.readline(), b"", "the server closes after the third failure")

    # -- submission
    def test_swaks_submission_starttls_auth(self):
        r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % self.sub, "-tls", "--auth", "PLAIN",
                            "--auth-user", ALICE, "--auth-password", ALICE_PW, "--from", ALICE, "--to", ALICE,
                            "--header", "Subject: swaks-587", "--timeout", "60"],
                           capture_output=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout.decode(errors="replace")[-2000:])
        data = self.delivered("swaks-587")
        self.assertRegex(data, rb"with ESMTPSA \(TLSv1\.[23] ")

    def test_swaks_smtps_implicit_tls(self):
        r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % self.smtps, "--tlsc", "--auth", "LOGIN",
                            "--auth-user", ALICE, "--auth-password", ALICE_PW, "--from", ALICE, "--to", ALICE,
                            "--header", "Subject: swaks-465", "--timeout", "60"],
                           capture_output=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout.decode(errors="replace")[-2000:])
        self.assertIn(b"with ESMTPSA (TLSv1.", self.delivered("swaks-465"))

    def msmtp(self, port, tls_starttls, subject):
        if not shutil.which("msmtp"):
            self.skipTest("msmtp is not installed (Debian package msmtp)")
        d = self.q.tmp
        pwfile = os.path.join(d, "msmtp-pw")
        with open(pwfile, "w") as f:
            f.write(ALICE_PW + "\n")
        conf = os.path.join(d, "msmtprc-%d" % port)
        with open(conf, "w") as f:
            f.write("account default\nhost 127.0.0.1\nport %d\nfrom %s\nauth on\nuser %s\n"
                    "passwordeval cat %s\ntls on\ntls_starttls %s\ntls_certcheck off\ntimeout 60\n"
                    % (port, ALICE, ALICE, pwfile, "on" if tls_starttls else "off"))
        os.chmod(conf, 0o600)
        r = subprocess.run(["msmtp", "-C", conf, ALICE], input=message(ALICE, ALICE, subject),
                           capture_output=True, timeout=120)
        self.assertEqual(r.returncode, 0, (r.stdout + r.stderr).decode(errors="replace"))
        return self.delivered(subject)

    def test_msmtp_submission_and_smtps(self):
        self.assertIn(b"with ESMTPSA (TLSv1.", self.msmtp(self.sub, True, "msmtp-587"))
        self.assertIn(b"with ESMTPSA (TLSv1.", self.msmtp(self.smtps, False, "msmtp-465"))

    def test_submission_adds_date_and_message_id(self):
        c = self.smtp_from(self.sub)
        c.starttls(context=client_context())
        c.ehlo("client.test")
        c.login(ALICE, ALICE_PW)
        c.sendmail(ALICE, [ALICE], message("Alice <%s>" % ALICE, ALICE, "no-date-no-id"))
        c.quit()
        head = self.delivered("no-date-no-id").split(b"\n\n", 1)[0]
        self.assertRegex(head, rb"\nDate: [A-Z][a-z][a-z], \d{1,2} [A-Z][a-z][a-z] \d{4} ")
        self.assertRegex(head, rb"\nMessage-ID: <[^>]+@mx\.example\.test>")

    def test_submission_requires_auth_before_mail(self):
        c = self.smtp_from(self.sub)
        c.starttls(context=client_context())
        c.ehlo("client.test")
        code, _ = c.mail(ALICE)
        self.assertEqual(code, 530)

    def test_submission_refuses_a_sender_that_is_not_the_users(self):
        c = self.smtp_from(self.sub, source="127.0.0.2")
        c.starttls(context=client_context())
        c.ehlo("client.test")
        c.login(ALICE, ALICE_PW)
        code, _ = c.mail(BOB)
        self.assertEqual(code, 553)
        code, _ = c.mail("alice-lists@example.test")
        self.assertEqual(code, 250, "an extension of the user's own address")
        c.rcpt(ALICE)
        code, text = c.data(message(BOB, ALICE, "forged-from"))
        self.assertEqual(code, 550, text)
        c.quit()
        time.sleep(0.5)
        self.assertFalse([m for m in self.q.maildir_messages(ALICE) if b"forged-from" in m])


class DirectSmtpd(unittest.TestCase):
    """smtpd without quail up: the envelope's auth record seen by a QUEUE_PROGRAM,
    and STARTTLS over IPv6."""

    @classmethod
    def setUpClass(cls):
        cls.q = qt.Instance(prefix="quail-e2e-tls-direct-")
        qt.register_cleanup(cls.q)
        cls.q.init()
        cls.q.add_user(ALICE, ALICE_PW)

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()

    def test_the_login_is_the_envelopes_auth_record(self):
        dump = os.path.join(self.q.tmp, "envelope")
        filt = os.path.join(self.q.tmp, "filter")
        with open(filt, "w") as f:
            f.write("#!/bin/sh\ncat >/dev/null\ncat <&1 >%s\nexit 31\n" % dump)
        os.chmod(filt, 0o755)
        a, b = socket.socketpair()
        env = self.q.env({"TCPREMOTEIP": "127.0.0.1", "PLAINTEXTLOGIN": "", "QUEUE_PROGRAM": filt})
        p = subprocess.Popen([qt.bin_path("smtpd")], stdin=b, stdout=b, stderr=subprocess.DEVNULL, env=env)
        b.close()
        self.addCleanup(p.kill)
        a.settimeout(60)
        f = a.makefile("rb")

        def reply():
            while True:
                line = f.readline()
                if line[3:4] != b"-":
                    return line
        import base64
        reply()
        cred = base64.b64encode(b"\0" + ALICE.encode() + b"\0" + ALICE_PW.encode())
        for cmd, want in ((b"EHLO x", b"250"), (b"AUTH PLAIN " + cred, b"235"), (b"MAIL FROM:<" + ALICE.encode() + b">", b"250"),
                          (b"RCPT TO:<friend@remote.test>", b"250"), (b"DATA", b"354"),
                          (b"Subject: x\r\n\r\nbody\r\n.", b"554")):
            a.sendall(cmd + b"\r\n")
            self.assertTrue(reply().startswith(want), cmd)
        a.sendall(b"QUIT\r\n")
        reply()
        p.wait(30)
        with open(dump, "rb") as fd:
            envelope = fd.read()
        self.assertIn(b"Xauth=" + ALICE.encode() + b"\0", envelope)
        self.assertNotIn(ALICE_PW.encode(), envelope)

    def test_starttls_over_ipv6(self):
        try:
            socket.socket(socket.AF_INET6).bind(("::1", 0))
        except OSError:
            self.skipTest("no IPv6 loopback here")
        port = qt.free_port("::1")
        srv = subprocess.Popen([qt.bin_path("tcpserver"), "::1", str(port), qt.bin_path("smtpd")], env=self.q.env(),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (srv.terminate(), srv.wait(10)))

        def up():
            try:
                socket.create_connection(("::1", port), timeout=1).close()
                return True
            except OSError:
                return False
        qt.wait_for(up, 20, "tcpserver on [::1]")
        c = smtplib.SMTP("::1", port, timeout=30)
        self.addCleanup(c.close)
        c.starttls(context=client_context())
        self.assertIn(c.sock.version(), ("TLSv1.2", "TLSv1.3"))
        code, text = c.ehlo("v6.client.test")
        self.assertEqual(code, 250)
        self.assertIn(b"[::1]", text)
        c.quit()


if __name__ == "__main__":
    unittest.main()
