"""smtpd's milter client end to end: real filters (opendkim in signing mode, and
small milters on Debian's python3-milter) named in control/milters of one running
instance; each test rewrites control/milters, which every new SMTP session reads."""
import os
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
import unittest

import quailtest as qt

qt.require("smtpd", "queue-inject", "queue-send", "tcpserver")

HERE = os.path.dirname(os.path.abspath(__file__))
DOMAIN = "example.test"
ALICE = "alice@" + DOMAIN
BOB = "bob@" + DOMAIN
OPENDKIM = shutil.which("opendkim") or "/usr/sbin/opendkim"
GENKEY = shutil.which("opendkim-genkey") or "/usr/sbin/opendkim-genkey"

try:
    import dkim  # python3-dkim: verifies opendkim's signature
except ImportError:
    dkim = None


def have_pymilter():
    return subprocess.run(["/usr/bin/python3", "-c", "import Milter"], capture_output=True).returncode == 0


def listening(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(path)
            return True
        except OSError:
            return False


class Milters(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not have_pymilter():
            raise unittest.SkipTest("python3-milter is not installed (make deps)")
        cls.q = qt.Instance()
        cls.procs = {}
        try:
            cls.q.init("mx." + DOMAIN, [DOMAIN])
            cls.q.add_user(ALICE, "alice-secret")
            cls.q.add_user(BOB, "bob-secret")
            cls.sockets = os.path.join(cls.q.tmp, "milters")
            os.makedirs(cls.sockets)
            for mode in ("modify", "reject", "tempfail", "hang", "discard"):
                cls.start_filter(mode)
            cls.port = qt.free_port()
            cls.q.write_control("timeoutmilter", "2")
            cls.q.up(env={"QUAIL_RETRY_SCALE": "600"}, smtp="127.0.0.1:%d" % cls.port)
        except BaseException:
            cls.stop_filters()
            cls.q.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.stop_filters()
        cls.q.cleanup()

    @classmethod
    def start_filter(cls, mode, argv=None, sock=None):
        sock = sock or os.path.join(cls.sockets, mode + ".sock")
        argv = argv or ["/usr/bin/python3", os.path.join(HERE, "milter_filter.py"), mode, "unix:" + sock]
        log = open(os.path.join(cls.sockets, mode + ".log"), "wb")
        cls.procs[mode] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        qt.wait_for(lambda: listening(sock) or cls.procs[mode].poll() is not None, 30, "milter %s" % mode)
        if cls.procs[mode].poll() is not None:
            raise AssertionError("milter %s exited: %s" % (mode, open(log.name, "rb").read()[-2000:]))
        return "unix:" + sock

    @classmethod
    def stop_filters(cls):
        for p in cls.procs.values():
            if p.poll() is None:
                os.killpg(p.pid, 9)
                p.wait(10)

    def use(self, *lines):
        self.q.write_control("milters", "".join(l + "\n" for l in lines))

    def sock(self, mode):
        return "unix:" + os.path.join(self.sockets, mode + ".sock")

    def smtp(self):
        return smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.example.test", timeout=60)

    def message(self, tag, extra="", body="hello from the milter test\r\n"):
        return ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@client.example.test>\r\n%s\r\n%s" %
                (BOB, ALICE, tag, tag, extra, body)).encode()

    def delivered(self, tag, addr=ALICE, timeout=30):
        def find():
            for m in self.q.maildir_messages(addr):
                if ("Message-ID: <%s@" % tag).encode() in m:
                    return m
            return None
        return qt.wait_for(find, timeout, "%s delivered to %s" % (tag, addr))

    def never_delivered(self, tag):
        # Delivery of a queued message takes well under a second here; a refused
        # one is also absent from the queue, which is the stronger check.
        self.assertEqual(self.q.queue_entries("todo") + self.q.queue_entries("mess"), [])
        for m in self.q.maildir_messages(ALICE):
            self.assertNotIn(("Message-ID: <%s@" % tag).encode(), m)

    def milter_events(self, **match):
        return [l for l in self.q.log_lines() if l.get("event") == "milter" and
                all(l.get(k) == v for k, v in match.items())]

    # ------------------------------------------------------------------ tests

    def test_header_added_subject_changed_header_deleted(self):
        self.use(self.sock("modify"))
        with self.smtp() as c:
            c.sendmail(BOB, [ALICE], self.message("modify-1", "X-Remove-Me: secret\r\n"))
        m = self.delivered("modify-1")
        self.assertIn(b"\nX-Test-Milter: seen by the test milter\n", m)
        self.assertIn(b"\nSubject: [tagged] modify-1\n", m)
        self.assertNotIn(b"X-Remove-Me", m)
        self.assertIn(b"\n\nhello from the milter test\n", m)

    def test_body_replaced_and_recipient_added(self):
        self.use(self.sock("modify"))
        with self.smtp() as c:
            c.sendmail(BOB, [ALICE], self.message("modify-2", "X-Add-Rcpt: %s\r\n" % BOB, "REPLACE-BODY\r\n"))
        for addr in (ALICE, BOB):
            m = self.delivered("modify-2", addr)
            self.assertTrue(m.endswith(b"\n\nthe body the test milter wrote\n"), m[-200:])

    def test_recipient_refused_by_the_filter_gets_its_reply(self):
        self.use(self.sock("modify"))
        with self.smtp() as c:
            c.ehlo()
            self.assertEqual(c.mail("block-rcpt@remote.test")[0], 250)
            code, text = c.rcpt(BOB)
            self.assertEqual(code, 550)
            self.assertIn(b"5.7.1 recipient blocked by the test milter", text)
            self.assertEqual(c.rcpt(ALICE)[0], 250)
            self.assertEqual(c.data(self.message("modify-3"))[0], 250)
        self.delivered("modify-3")
        for m in self.q.maildir_messages(BOB):
            self.assertNotIn(b"Message-ID: <modify-3@", m)

    def test_bdat_and_a_second_message_in_the_session(self):
        # One session: a message by DATA, RSET mid-transaction, then one in BDAT
        # chunks; the filter sees each and its change lands in both.
        self.use(self.sock("modify"))
        with self.smtp() as c:
            c.sendmail(BOB, [ALICE], self.message("session-1"))
            c.mail(BOB)
            self.assertEqual(c.rcpt(ALICE)[0], 250)
            self.assertEqual(c.rset()[0], 250)
            msg = self.message("session-2")
            self.assertEqual(c.mail(BOB)[0], 250)
            self.assertEqual(c.rcpt(ALICE)[0], 250)
            half = len(msg) // 2
            c.send(b"BDAT %d\r\n" % half + msg[:half])
            self.assertEqual(c.getreply()[0], 250)
            c.send(b"BDAT %d LAST\r\n" % (len(msg) - half) + msg[half:])
            code, text = c.getreply()
            self.assertEqual(code, 250, text)
        for tag in ("session-1", "session-2"):
            self.assertIn(b"\nX-Test-Milter: seen by the test milter\n", self.delivered(tag))

    def test_reject_reaches_the_client_and_nothing_is_delivered(self):
        self.use(self.sock("reject"))
        with self.smtp() as c:
            with self.assertRaises(smtplib.SMTPDataError) as e:
                c.sendmail(BOB, [ALICE], self.message("reject-1"))
        self.assertEqual(e.exception.smtp_code, 550)
        self.assertIn(b"5.7.1 rejected by the test milter", e.exception.smtp_error)
        self.never_delivered("reject-1")
        self.assertTrue(self.milter_events(result="reject", stage="eom"))

    def test_tempfail_defers_the_message(self):
        self.use(self.sock("tempfail"))
        with self.smtp() as c:
            with self.assertRaises(smtplib.SMTPDataError) as e:
                c.sendmail(BOB, [ALICE], self.message("tempfail-1"))
        self.assertEqual(e.exception.smtp_code, 451)
        self.assertIn(b"4.7.1 test milter says later", e.exception.smtp_error)
        self.never_delivered("tempfail-1")

    def test_hanging_filter_gets_the_default_within_its_timeout(self):
        # timeoutmilter is 2 s; the default (milterdefault) is tempfail, and a
        # per-filter default=accept lets the message through instead.
        self.use(self.sock("hang"))
        start = time.monotonic()
        with self.smtp() as c:
            with self.assertRaises(smtplib.SMTPDataError) as e:
                c.sendmail(BOB, [ALICE], self.message("hang-1"))
        waited = time.monotonic() - start
        self.assertEqual(e.exception.smtp_code, 451)
        self.assertLess(waited, 30, "the timeout bounds the wait")
        qt.note("hang answered after %.1f s (timeout 2 s)" % waited)
        self.never_delivered("hang-1")
        self.assertTrue(self.milter_events(result="fail", action="tempfail"))
        self.use(self.sock("hang") + " timeout=1 default=accept", self.sock("modify"))
        with self.smtp() as c:
            c.sendmail(BOB, [ALICE], self.message("hang-2"))
        m = self.delivered("hang-2")
        self.assertIn(b"X-Test-Milter:", m, "the filter after the failed one still ran")

    def test_filter_down_gives_the_default(self):
        self.use("unix:" + os.path.join(self.sockets, "nobody-listens.sock"))
        with self.smtp() as c:
            self.assertEqual(c.ehlo()[0], 250)
            code, text = c.mail(BOB)
        self.assertEqual(code, 451)
        self.assertIn(b"4.7.1 content filter unavailable", text)
        self.assertTrue(self.milter_events(result="fail", stage="connect", action="tempfail"))
        self.use("unix:" + os.path.join(self.sockets, "nobody-listens.sock") + " default=accept")
        with self.smtp() as c:
            c.sendmail(BOB, [ALICE], self.message("down-2"))
        self.delivered("down-2")

    def test_discard_accepts_and_drops_with_a_log_line(self):
        self.use(self.sock("discard"))
        with self.smtp() as c:
            c.sendmail(BOB, [ALICE], self.message("discard-1"))  # 250: no error raised
        qt.wait_for(lambda: self.milter_events(result="discard"), 10, "the discard log line")
        self.never_delivered("discard-1")

    def test_opendkim_signs_through_the_milter_client(self):
        # opendkim refuses a configuration or key under a directory others may
        # write (/tmp): the key goes under /run (or the home directory).
        keys = None
        for base in ("/run", os.path.expanduser("~")):
            if os.access(base, os.W_OK):
                keys = tempfile.mkdtemp(prefix="quail-e2e-dkim-", dir=base)
                break
        if keys is None:
            self.skipTest("no directory safe for opendkim's key (/run or the home directory)")
        self.addCleanup(shutil.rmtree, keys, True)
        subprocess.run([GENKEY, "-D", keys, "-d", DOMAIN, "-s", "test", "-b", "1024"], check=True,
                       capture_output=True, timeout=60)
        os.chmod(os.path.join(keys, "test.private"), 0o600)
        sock = os.path.join(keys, "opendkim.sock")
        conf = os.path.join(keys, "opendkim.conf")
        with open(conf, "w") as f:
            f.write("Mode s\nDomain %s\nSelector test\nKeyFile %s\nSocket local:%s\nBackground no\n"
                    "Syslog no\nInternalHosts 127.0.0.1\nCanonicalization relaxed/relaxed\nUMask 007\n"
                    "PidFile %s\n" % (DOMAIN, os.path.join(keys, "test.private"), sock, os.path.join(keys, "pid")))
        self.start_filter("opendkim", [OPENDKIM, "-f", "-x", conf], sock)
        self.use("unix:" + sock)
        with self.smtp() as c:
            c.sendmail(BOB, [ALICE], self.message("dkim-1"))
        m = self.delivered("dkim-1")
        sig = re.search(rb"\nDKIM-Signature: ([^\n]*(\n[ \t][^\n]*)*)", m)
        self.assertIsNotNone(sig, m[:1500])
        self.assertIn(b"d=%s" % DOMAIN.encode(), sig.group(1))
        self.assertIn(b"s=test", sig.group(1))
        if dkim is not None:
            record = open(os.path.join(keys, "test.txt")).read()
            txt = "".join(re.findall(r'"([^"]*)"', record)).encode()
            ok = dkim.verify(m.replace(b"\n", b"\r\n"), dnsfunc=lambda name, timeout=5: txt)
            self.assertTrue(ok, "the signature verifies against the generated key")


class BadConfig(unittest.TestCase):
    def test_quail_up_refuses_a_malformed_milters_line(self):
        q = qt.Instance()
        self.addCleanup(q.cleanup)
        q.init("mx." + DOMAIN, [DOMAIN])
        q.write_control("milters", "unix:/run/ok.sock\nopendkim\n")
        r = q.up(check=False, smtp="127.0.0.1:%d" % qt.free_port())
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("milters:2:", r.err)
        q.write_control("milters", "")
        q.write_control("milterdefault", "reject\n")
        q.write_control("milters", "inet:127.0.0.1:9 timeout=1\n")
        r = q.up(check=False, smtp="127.0.0.1:%d" % qt.free_port())
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("milterdefault", r.err)


class Quarantine(unittest.TestCase):
    """Quarantine holds the message (queue/hold, as `quail queue hold`). smtpd runs
    here before queue-send does, so its hold command is applied at queue-send's
    start, before any delivery (the race with a running queue-send: man/smtpd.8)."""

    def test_quarantined_message_waits_in_hold_until_released(self):
        if not have_pymilter():
            self.skipTest("python3-milter is not installed (make deps)")
        q = qt.Instance()
        self.addCleanup(q.cleanup)
        q.init("mx." + DOMAIN, [DOMAIN])
        q.add_user(ALICE, "alice-secret")
        sock = os.path.join(q.tmp, "quarantine.sock")
        proc = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "milter_filter.py"), "quarantine",
                                 "unix:" + sock], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        self.addCleanup(lambda: (os.killpg(proc.pid, 9), proc.wait(10)))
        qt.wait_for(lambda: listening(sock), 30, "the quarantine milter")
        q.write_control("milters", "unix:%s\n" % sock)
        a, b = socket.socketpair()
        env = q.env({"TCPREMOTEIP": "127.0.0.1", "TCPREMOTEPORT": "40000", "TCPLOCALIP": "127.0.0.1"})
        env.pop("QUEUE_PROGRAM", None)
        log = open(os.path.join(q.tmp, "smtpd.log"), "wb")
        smtpd = subprocess.Popen([qt.bin_path("smtpd")], stdin=b, stdout=b, stderr=log, env=env)
        b.close()
        c = smtplib.SMTP(local_hostname="client.example.test", timeout=60)
        c.sock, c.file = a, None
        self.assertEqual(c.getreply()[0], 220)
        c.sendmail(BOB, [ALICE], ("From: <%s>\r\nSubject: q\r\nMessage-ID: <quarantine-1@x>\r\n\r\nbody\r\n" %
                                  BOB).encode())
        c.quit()
        smtpd.wait(30)
        lines = [qt.parse_logfmt(l) for l in open(log.name, errors="replace") if "event=milter" in l]
        held = [l for l in lines if l.get("result") == "quarantine" and l.get("msg")]
        self.assertTrue(held, lines)
        msg_id = held[0]["msg"]
        # The hold travels in the envelope (hold=quarantine), not as a command queue-send might see late.
        self.assertEqual(os.listdir(q.path("queue", "cmd")), [], "no hold command is needed")
        q.up(env={"QUAIL_RETRY_SCALE": "600"})
        qt.wait_for(lambda: q.queue_entries("hold"), 30, "the message in queue/hold")
        self.assertEqual(q.maildir_messages(ALICE), [], "a quarantined message is not delivered")
        q.quail("queue", "release", msg_id)
        m = qt.wait_for(lambda: q.maildir_messages(ALICE), 30, "delivery after release")
        self.assertIn(b"Message-ID: <quarantine-1@x>", m[0])


if __name__ == "__main__":
    unittest.main()
