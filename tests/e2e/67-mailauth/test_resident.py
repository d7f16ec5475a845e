"""67-mailauth/test_resident: the resident mailauth (mailauth -d, man/mailauth.8
"Resident mode"). With control/authcheck on, quail up starts it; each SMTP
session of a client without relay rights gets its SPF/DMARC helper forked from
it instead of exec'd, and the checks are the same: a sender that passes SPF is
delivered with spf=pass, a forged one is refused at MAIL FROM. A control change
counts from the next session (each helper reads control/ itself). The helper
writes its log lines to the session's log. When the resident helper is absent,
or dies with a session's question unanswered, the session execs mailauth and
its sender is still checked; a helper that crashes makes the resident one exit,
and supervise starts a fresh one."""
import email
import email.policy
import os
import signal
import smtplib
import socket
import threading
import time
import unittest

import quailtest as qt

qt.require("quail", "quail-init", "quail-up", "quail-down", "smtpd", "mailauth", "tcpserver", "supervise")

CLIENT_IP = "127.0.67.21"  # inside good.test's SPF range
FORGER_IP = "127.0.68.21"  # outside it
RCPT = "bob@example.test"

RECORDS = {
    "good.test": "v=spf1 ip4:127.0.67.0/24 -all",
    "_dmarc.good.test": "v=DMARC1; p=none",
}


def resident_pid(q):
    """The resident helper's pid (comm mailauth-forks), or None."""
    return qt.process_named(q.root, b"mailauth-forks")


parent_of = qt.parent_of

other_uid_can_connect, closed_by_peer = qt.other_uid_can_connect, qt.closed_by_peer


class ResidentBase(qt.SmtpWithDns):
    """An instance with the checks on, a DNS server, and helpers; no tests."""
    RECORDS = RECORDS
    USERS = (RCPT,)
    CONTROLS = (("authcheck", 1), ("spfreject", 1), ("rules.smtp", ":allow"))

    def setUp(self):
        # A test that killed the resident helper leaves supervise starting a new one.
        # (supervise's back-off doubles with each exit, up to 60 s)
        self.resident = qt.wait_for(lambda: resident_pid(self.q), 90, "the resident mailauth")
        qt.wait_for(lambda: os.path.exists(self.q.path("run", "mailauth.sock")), 10, "its socket")
        self.log_mark = os.path.getsize(self.q.path("log", "smtp.log"))

    def smtp_log(self, event):
        """This test's smtp.log lines of event."""
        with open(self.q.path("log", "smtp.log"), errors="replace") as f:
            f.seek(self.log_mark)
            lines = [qt.parse_logfmt(line) | {"_line": line.rstrip()} for line in f if line.strip()]
        return [e for e in lines if e.get("event") == event]

    def smtp(self, source=CLIENT_IP):
        s = smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.good.test", source_address=(source, 0),
                         timeout=60)
        s.ehlo()
        return s

    def delivered(self, subject):
        def find():
            for raw in self.q.maildir_messages(RCPT):
                m = email.message_from_bytes(raw, policy=email.policy.compat32)
                if m["Subject"] == subject:
                    return m
            return None
        return qt.wait_for(find, 60, "the message %r" % subject)

    def send(self, subject, sender="alice@good.test"):
        s = self.smtp()
        try:
            s.sendmail(sender, [RCPT], ("From: %s\r\nTo: %s\r\nSubject: %s\r\n\r\nbody\r\n" %
                                        (sender, RCPT, subject)).encode())
        finally:
            s.quit()
        return self.delivered(subject)

    def session_helper(self, s):
        """After a MAIL FROM on s: the pid of the session's mailauth."""
        qt.wait_for(lambda: self.q.pids("mailauth"), 10, "the session's mailauth")
        pids = self.q.pids("mailauth")
        self.assertEqual(len(pids), 1, pids)
        return pids[0]

    def no_helper_failed(self):
        bad = [e["_line"] for e in self.smtp_log("mailauth")]
        self.assertEqual(bad, [])

    def waiting_in_backlog(self):
        return qt.unix_backlog(self.q.path("run", "mailauth.sock"))


class ResidentMailAuth(ResidentBase):
    def test_status_lists_it(self):
        out = self.q.quail("status").out
        line = [l for l in out.splitlines() if l.startswith("mailauth ")]
        self.assertEqual(len(line), 1, out)
        self.assertIn("mailauth running pid=", line[0])
        sock = os.stat(self.q.path("run", "mailauth.sock"))
        self.assertEqual(sock.st_mode & 0o777, 0o600)

    def test_session_helper_is_forked_and_checks_spf(self):
        s = self.smtp()
        try:
            self.assertEqual(s.mail("alice@good.test")[0], 250)
            helper = self.session_helper(s)
            # Forked by the resident helper, not exec'd by smtpd.
            self.assertEqual(parent_of(helper), self.resident)
            self.assertEqual(qt.comm(helper), b"mailauth")
            # Its log lines go where the session's do: smtpd's stderr, passed over
            # (the resident helper's own go to log/mailauth.log).
            where = lambda pid: (lambda st: (st.st_dev, st.st_ino))(os.stat("/proc/%d/fd/2" % pid))
            self.assertIn(where(helper), {where(p) for p in self.q.pids("smtpd")})
            self.assertNotEqual(where(helper), where(self.resident))
        finally:
            s.quit()
        m = self.send("forked helper")
        ours = [v for v in m.get_all("Authentication-Results", []) if v.strip().startswith("mx.example.test;")]
        self.assertEqual(len(ours), 1, m.get_all("Authentication-Results"))
        self.assertIn("spf=pass smtp.mailfrom=good.test", ours[0])
        # The helper ends with its session.
        qt.wait_for(lambda: not self.q.pids("mailauth"), 10, "no session's mailauth left")
        self.no_helper_failed()

    def test_forged_sender_refused(self):
        s = self.smtp(FORGER_IP)
        try:
            code, text = s.mail("alice@good.test")
            self.assertEqual(code, 550, text)
            self.assertTrue(text.startswith(b"5.7.23"), text)
        finally:
            s.quit()
        self.assertEqual(resident_pid(self.q), self.resident)

    def test_control_change_counts_from_next_session(self):
        try:
            self.q.write_control("authservid", "checks.example.test\n")
            m = self.send("new authservid")
            ids = [v.strip().split(";")[0] for v in m.get_all("Authentication-Results", [])]
            self.assertIn("checks.example.test", ids)
        finally:
            os.unlink(self.q.path("control", "authservid"))
        self.assertEqual(resident_pid(self.q), self.resident)

    @unittest.skipUnless(os.geteuid() == 0, "switching to another uid needs root")
    def test_only_the_sessions_user_reaches_it_and_a_bad_hello_changes_nothing(self):
        sock = self.q.path("run", "mailauth.sock")
        ok, err = other_uid_can_connect(sock)
        self.assertFalse(ok, "another uid connected to the resident mailauth")
        self.assertIn("PermissionError", err)
        # Our own uid: a well-formed hello without the stderr it must carry, then
        # bytes that are no frame at all. Each process refuses and ends.
        for hello in (b"10:session\x00S1,", b"EHLO me\r\n"):
            with socket.socket(socket.AF_UNIX) as c:
                c.connect(sock)
                c.sendall(hello)
                self.assertTrue(closed_by_peer(c))
        refused = [e for e in self.q.log_lines("mailauth") if e.get("event") == "refused"]
        self.assertGreaterEqual(len(refused), 2, refused)
        self.assertEqual(resident_pid(self.q), self.resident)
        m = self.send("after bad hellos")
        self.assertTrue(any("spf=pass" in v for v in m.get_all("Authentication-Results", [])))

    def test_without_resident_sessions_exec_mailauth(self):
        sock = self.q.path("run", "mailauth.sock")
        os.rename(sock, sock + ".aside")
        try:
            s = self.smtp()
            try:
                self.assertEqual(s.mail("alice@good.test")[0], 250)
                helper = self.session_helper(s)
                self.assertIn(parent_of(helper), self.q.pids("smtpd"))  # exec'd by the session
            finally:
                s.quit()
            s = self.smtp(FORGER_IP)
            try:
                self.assertEqual(s.mail("alice@good.test")[0], 550)
            finally:
                s.quit()
        finally:
            os.rename(sock + ".aside", sock)
        self.no_helper_failed()

    def test_resident_killed_with_a_question_waiting(self):
        # Stopped, it takes no connection: the session's connect waits in its
        # backlog with the question sent. Killed, it resets that connection, and
        # the session must still get its answer, from an exec'd helper.
        os.kill(self.resident, signal.SIGSTOP)
        result = {}

        def ask():
            s = self.smtp(FORGER_IP)
            try:
                result["mail"] = s.mail("alice@good.test")
            finally:
                s.quit()
        t = threading.Thread(target=ask)
        try:
            t.start()
            qt.wait_for(lambda: self.waiting_in_backlog() >= 1, 20, "the session's connect in the backlog")
            time.sleep(0.2)  # its hello and question follow the connect at once
        finally:
            os.kill(self.resident, signal.SIGKILL)
        t.join(60)
        self.assertFalse(t.is_alive())
        self.assertEqual(result["mail"][0], 550, result)
        said = [(e.get("result"), e.get("reason")) for e in self.smtp_log("mailauth")]
        self.assertEqual(len(said), 1, said)
        self.assertEqual(said[0][0], "retry", said)
        # supervise starts a fresh one, and sessions use it.
        new = qt.wait_for(lambda: (lambda p: p if p and p != self.resident else None)(resident_pid(self.q)), 90,
                          "a new resident mailauth")
        qt.wait_for(lambda: os.path.exists(self.q.path("run", "mailauth.sock")), 10, "its socket")
        s = self.smtp()
        try:
            self.assertEqual(s.mail("alice@good.test")[0], 250)
            self.assertEqual(parent_of(self.session_helper(s)), new)
        finally:
            s.quit()

    def test_crashed_helper_retires_the_resident_one(self):
        s = self.smtp()
        try:
            self.assertEqual(s.mail("alice@good.test")[0], 250)
            helper = self.session_helper(s)
            os.kill(helper, signal.SIGSEGV)
            qt.wait_for(lambda: resident_pid(self.q) != self.resident, 30, "the resident mailauth gone")
            # This session's checks are over (logged), never a refusal for our trouble.
            s.rset()
            self.assertEqual(s.mail("alice@good.test")[0], 250)
        finally:
            s.quit()
        lines = [e for e in self.q.log_lines("mailauth") if e.get("event") in ("child-signaled", "exiting")]
        self.assertEqual([e["event"] for e in lines][-2:], ["child-signaled", "exiting"])
        new = qt.wait_for(lambda: resident_pid(self.q), 90, "a fresh resident mailauth")
        self.assertNotEqual(new, self.resident)
        self.send("after the crash")


class ResidentMailAuthUnderLoad(ResidentBase):
    """Its own instance: the kills below leave supervise in a long back-off,
    which the tests above must not wait out."""

    def test_resident_killed_under_load_every_session_is_checked(self):
        # The helper fails open (a session it cannot serve goes unchecked), so
        # what the resident one may never do is drop a question: sessions that
        # pass SPF and forged ones, 8 at a time, while it is killed again and
        # again. Every accepted message must carry our spf=pass, every forged
        # sender must be refused, and no session may have gone unchecked.
        subjects, forged, errors = [], [], []
        lock = threading.Lock()
        stop = time.monotonic() + 10

        def client(k):
            n = 0
            while time.monotonic() < stop:
                n += 1
                try:
                    if n % 4 == 0:
                        s = self.smtp(FORGER_IP)
                        try:
                            code = s.mail("alice@good.test")[0]
                        finally:
                            s.quit()
                        with lock:
                            forged.append(code)
                    else:
                        subject = "load %d %d" % (k, n)
                        s = self.smtp()
                        try:
                            s.sendmail("alice@good.test", [RCPT], ("From: alice@good.test\r\nSubject: %s\r\n\r\n"
                                                                   "x\r\n" % subject).encode())
                        finally:
                            s.quit()
                        with lock:
                            subjects.append(subject)
                except (smtplib.SMTPException, OSError) as e:
                    with lock:
                        errors.append(repr(e))
        threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        kills = qt.kill_repeatedly(lambda: resident_pid(self.q), stop - 1)
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        self.assertGreaterEqual(kills, 3)  # supervise restarts after 1, 2, 4 s...
        self.assertTrue(forged and set(forged) == {550}, forged)

        def all_delivered():
            got = {}
            for raw in self.q.maildir_messages(RCPT):
                m = email.message_from_bytes(raw, policy=email.policy.compat32)
                if (m["Subject"] or "").startswith("load "):
                    got[m["Subject"]] = m
            return got if len(got) >= len(subjects) else None
        got = qt.wait_for(all_delivered, 120, "every accepted message delivered")
        unchecked = [sub for sub in subjects
                     if not any("spf=pass" in v for v in got[sub].get_all("Authentication-Results", []))]
        self.assertEqual(unchecked, [])
        failed = [e["_line"] for e in self.smtp_log("mailauth") if e.get("result") != "retry"]
        self.assertEqual(failed, [])
        qt.note("%d accepted, %d forged refused, %d kills, %d retries" % (
            len(subjects), len(forged), kills, len(self.smtp_log("mailauth"))))

if __name__ == "__main__":
    unittest.main()
