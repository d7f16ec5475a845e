"""42-exhaustion: connection exhaustion through `quail up` (tcpserver, smtpd), with
clients connecting from many addresses of 127.0.0.0/8. One instance with small
limits (50 at once, 5 per address, 10 per /24): the per-address and per-/24
limits refuse with 421; idle connections from five /24s fill every place and a
legitimate client from another address is still greeted and sends a message
(tcpserver closes the idlest session for it, with 421); a session started while
the listener is busy gets the short timeout; NOOP cannot keep a connection for
ever (maxjunk) and a session has a lifetime. Every socket is closed at the end.
The 1,000-attacker run is bench/exhaustion.py (outside make check)."""
import os
import select
import smtplib
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import quailtest as qt  # noqa: E402

ALICE = "alice@example.test"
TOTAL, PERIP, PERNET = 50, 5, 10


def reply(s):
    """The last line of one SMTP reply, b"" at end of file."""
    buf = b""
    while True:
        try:
            data = s.recv(1)
        except OSError:
            return buf
        if not data:
            return buf
        buf += data
        if buf.endswith(b"\r\n"):
            line = buf.split(b"\r\n")[-2]
            if line[3:4] != b"-":
                return line
            # a continuation line: keep reading


def connect(port, source, timeout=20):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close()
        raise
    return s


class Exhaustion(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.q = qt.Instance()
        q = cls.q
        try:
            q.init()
            q.add_user(ALICE)
            for name, value in (("concurrencyincoming", TOTAL), ("concurrencyperip", PERIP),
                                ("concurrencypernet", PERNET), ("maxjunk", 5)):
                q.write_control(name, "%s\n" % value)
            cls.port = qt.free_port()
            q.up(smtp="127.0.0.1:%d" % cls.port)
        except Exception:
            cls.q.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()

    def setUp(self):
        self.held = []

    def tearDown(self):
        for s in self.held:
            s.close()
        # Every session of this test has ended before the next one starts.
        qt.wait_for(lambda: not self.q.pids("smtpd"), 30, "the test's smtpd sessions to end")

    def hold(self, source):
        """A connection from source that has read its greeting; the greeting."""
        s = connect(self.port, source)
        self.held.append(s)
        return s, reply(s)

    def tcpserver_events(self, event):
        return [r for r in self.q.log_lines("smtp") if r.get("prog") == "tcpserver" and r.get("event") == event]

    def test_per_address_and_per_network_limits_refuse_with_421(self):
        for i in range(PERIP):
            self.assertTrue(self.hold("127.0.5.1")[1].startswith(b"220"), i)
        refused = self.hold("127.0.5.1")[1]
        self.assertTrue(refused.startswith(b"421 ") and b"too many connections" in refused, refused)
        # The same /24, other addresses: 5 more fill it, the 11th of the /24 is refused.
        for i in range(PERNET - PERIP):
            self.assertTrue(self.hold("127.0.5.%d" % (10 + i))[1].startswith(b"220"), i)
        refused = self.hold("127.0.5.99")[1]
        self.assertTrue(refused.startswith(b"421 "), refused)
        # Another /24 is not affected.
        self.assertTrue(self.hold("127.0.6.1")[1].startswith(b"220"))
        limits = [r.get("limit") for r in self.tcpserver_events("refused")]
        self.assertIn("perip", limits)
        self.assertIn("pernet", limits)

    def test_legitimate_client_served_while_idle_connections_take_every_place(self):
        # Ten addresses in each of five /24s: 50 idle connections, every place taken.
        for net in range(5):
            for host in range(PERNET):
                self.assertTrue(self.hold("127.0.%d.%d" % (10 + net, 1 + host))[1].startswith(b"220"))
        attackers = list(self.held)
        evicted_before = len(self.tcpserver_events("evict"))

        # The idle ones give way once idle 2 s (tcpserver -i 2): until then a newcomer
        # is refused, so the client retries as a real one would.
        def session():
            try:
                s = smtplib.SMTP(timeout=20, source_address=("127.0.30.1", 0))
                code, _ = s.connect("127.0.0.1", self.port)
            except (OSError, smtplib.SMTPException):
                return None
            if code != 220:
                s.close()
                return None
            return s
        s = qt.wait_for(session, 30, "a greeting for 127.0.30.1 while 50 idle connections are held")
        try:
            s.ehlo("legit.test")
            msg = qt.make_message(1, to=ALICE, sender="legit@legit.test", body=b"exhaustion-legit\n")
            msg = msg.replace(b"\n", b"\r\n")
            s.sendmail("legit@legit.test", [ALICE], msg)
            s.quit()
        finally:
            s.close()
        qt.wait_for(lambda: [m for m in self.q.maildir_messages(ALICE) if b"exhaustion-legit" in m], 60,
                    "the legitimate message in alice's Maildir")
        evicts = self.tcpserver_events("evict")[evicted_before:]
        self.assertTrue(evicts, "no event=evict logged")
        self.assertTrue(all(e["remote"].startswith("127.0.1") for e in evicts), evicts)
        # An evicted attacker heard 421 and then the end.
        readable, _, _ = select.select(attackers, [], [], 5)
        told = [reply(a) for a in readable]
        self.assertTrue(told and all(t.startswith(b"421 ") for t in told), told)

    def test_session_started_while_busy_gets_the_short_timeout(self):
        self.q.write_control("timeoutsmtpdbusy", "3\n")
        self.addCleanup(os.unlink, self.q.path("control", "timeoutsmtpdbusy"))
        for host in range(PERNET):
            for net in range(4):  # 40 of 50: the next session starts above 80 %
                self.hold("127.0.%d.%d" % (40 + net, 1 + host))
        s, greeting = self.hold("127.0.50.1")
        self.assertTrue(greeting.startswith(b"220"))
        started = time.monotonic()
        line = reply(s)  # timeoutsmtpdbusy is 3 s here, timeoutsmtpd 300
        self.assertTrue(line.startswith(b"421 4.4.2") and b"timeout" in line, line)
        self.assertLess(time.monotonic() - started, 15)

    def test_noop_cannot_hold_a_connection(self):
        s, greeting = self.hold("127.0.60.1")
        self.assertTrue(greeting.startswith(b"220"))
        answers = []
        for verb in (b"EHLO a.test", b"NOOP", b"RSET", b"NOOP", b"HELP", b"NOOP"):  # maxjunk is 5
            s.sendall(verb + b"\r\n")
            answers.append(reply(s)[:3])
        self.assertEqual(answers, [b"250", b"250", b"250", b"250", b"214", b"421"])
        self.assertEqual(reply(s), b"")
        limits = [r for r in self.q.log_lines("smtp") if r.get("event") == "session_limit"]
        self.assertIn("junk", [r.get("limit") for r in limits])

    def test_a_message_starts_the_junk_count_again(self):
        with smtplib.SMTP("127.0.0.1", self.port, timeout=20, source_address=("127.0.61.1", 0)) as s:
            s.ehlo("a.test")
            for _ in range(4):
                self.assertEqual(s.noop()[0], 250)
            s.sendmail("x@a.test", [ALICE], qt.make_message(2, to=ALICE, sender="x@a.test").replace(b"\n", b"\r\n"))
            for _ in range(5):
                self.assertEqual(s.noop()[0], 250)
            self.assertEqual(s.noop()[0], 421)

    def test_session_lifetime(self):
        self.q.write_control("timeoutsmtpdsession", "2\n")
        try:
            s, greeting = self.hold("127.0.62.1")
        finally:
            os.unlink(self.q.path("control", "timeoutsmtpdsession"))
        self.assertTrue(greeting.startswith(b"220"))
        s.sendall(b"EHLO a.test\r\n")
        self.assertTrue(reply(s).startswith(b"250"))
        line = reply(s)  # no command sent: the lifetime ends the wait
        self.assertTrue(line.startswith(b"421 4.4.2") and b"too long" in line, line)


if __name__ == "__main__":
    unittest.main()
