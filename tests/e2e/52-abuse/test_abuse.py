"""52-abuse: greylisting, rate limits, the tarpit and DNS blocklists, through
`quail up` (tcpserver, dnsbl, smtpd) with real SMTP clients connecting from
addresses of 127.0.0.0/8 other than 127.0.0.1 (which quail init gives relay
rights, and so exempts). The state store is LMDB, then a real redis-server on a
loopback port; the DNS lists are served by a real dnsmasq."""
import os
import shutil
import smtplib
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import quailtest as qt  # noqa: E402

ALICE = "alice@example.test"
BL_TEXT = "listed by bl.test: see https://bl.test/lookup"
V6_LISTED = "2001:db8::25"


def v6_name(ip, zone):
    packed = socket.inet_pton(socket.AF_INET6, ip)
    nibbles = "".join("%02x" % b for b in packed)
    return ".".join(reversed(nibbles)) + "." + zone


def client(port, source, timeout=30):
    s = smtplib.SMTP(timeout=timeout, source_address=(source, 0))
    s.connect("127.0.0.1", port)
    s.ehlo("client.test")
    return s


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True
    except OSError:
        return False


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dns_answers(port, name):
    query = struct.pack(">HHHHHH", 0x5252, 0x0100, 1, 0, 0, 0)
    query += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        try:
            s.sendto(query, ("127.0.0.1", port))
            reply = s.recv(512)
        except OSError:
            return False
    return reply[:2] == query[:2] and struct.unpack(">H", reply[6:8])[0] > 0


def start_dnsmasq(records):
    """dnsmasq on 127.0.0.1 and a free port answering only from records."""
    why = ""
    for _ in range(5):
        port = free_udp_port()
        log = tempfile.TemporaryFile()
        p = subprocess.Popen(["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
                              "--listen-address=127.0.0.1", "--bind-interfaces", "--port=%d" % port,
                              "--local=/test/", "--log-facility=-", "--user=root", "--pid-file="] + records,
                             stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and p.poll() is None:
            if dns_answers(port, "2.0.0.127.bl.test"):
                return p, port
            time.sleep(0.1)
        p.kill()
        p.wait()
        log.seek(0)
        why = log.read().decode(errors="replace")
    raise AssertionError("dnsmasq did not start: " + why[-500:])


def stop(p):
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


@unittest.skipUnless(shutil.which("dnsmasq"), "dnsmasq is not installed (Debian package dnsmasq-base)")
class Abuse(unittest.TestCase):
    """One instance for the module: greylisting on (delay 2 s), limits of 100
    messages an hour, a tarpit after 2 refused recipients, a blocklist."""

    @classmethod
    def setUpClass(cls):
        cls.dns, cls.dns_port = start_dnsmasq([
            "--address=/2.0.0.127.bl.test/127.0.0.2", "--txt-record=2.0.0.127.bl.test,%s" % BL_TEXT,
            "--address=/3.0.0.127.bl.test/127.0.0.2",
            "--address=/%s/127.0.0.2" % v6_name(V6_LISTED, "bl.test"),
            "--txt-record=%s,%s" % (v6_name(V6_LISTED, "bl.test"), BL_TEXT),
            "--txt-record=spfok.test,v=spf1 ip4:127.0.0.0/8 -all",
        ])
        cls.q = qt.Instance()
        q = cls.q
        try:
            q.init()
            q.add_user(ALICE)
            for name, value in (("greylist", 1), ("greydelay", 2), ("ratelimitmessages", 100),
                                ("ratelimitusermessages", 100), ("ratelimitconnections", 1000),
                                ("tarpitcount", 2), ("tarpitdelay", 1), ("tarpitmax", 4),
                                ("dnsbl", "bl.test"), ("dnsservers", "127.0.0.1@%d" % cls.dns_port),
                                ("timeoutdnsbl", 5)):
                q.write_control(name, "%s\n" % value)
            # 127.0.0.3 is listed too, but exempted as rblsmtpd's RBLSMTPD="" exempts.
            with open(q.path("control", "rules.smtp"), "a") as f:
                f.write('127.0.0.3:allow,RBLSMTPD=""\n')
            cls.port = qt.free_port()
            q.up(smtp="127.0.0.1:%d" % cls.port)
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()
        stop(cls.dns)

    def delivered(self, marker, timeout=60):
        return qt.wait_for(lambda: [m for m in self.q.maildir_messages(ALICE) if marker.encode() in m], timeout,
                           "a message with %s in alice's Maildir" % marker)

    def test_greylisting_defers_then_accepts_a_retry_once(self):
        sender = "grey@sender.test"
        first = time.monotonic()
        with client(self.port, "127.0.1.5") as s:
            s.mail(sender)
            code, text = s.rcpt(ALICE)
            self.assertEqual(code, 451, text)
            self.assertIn(b"4.7.1", text)
        # A retrying client, as a real MTA's queue retries: deferred until the delay passed.
        accepted, deferred = None, 0
        deadline = time.monotonic() + 60
        while accepted is None and time.monotonic() < deadline:
            with client(self.port, "127.0.1.5") as s:
                s.mail(sender)
                code, text = s.rcpt(ALICE)
                if code == 250:
                    code, text = s.data(b"Subject: grey\r\n\r\ngreylist-round-trip\r\n")
                    self.assertEqual(code, 250, text)
                    accepted = time.monotonic()
                else:
                    self.assertEqual(code, 451, text)
                    deferred += 1
            time.sleep(0.3)
        self.assertIsNotNone(accepted, "the retry was never accepted")
        # The store counts whole seconds: a delay of 2 s is over after at least 1 s.
        self.assertGreaterEqual(accepted - first, 1.0)
        self.assertGreaterEqual(deferred, 1)  # the immediate retry was deferred too
        self.delivered("greylist-round-trip")
        # The network passed: another sender from it is not greylisted.
        with client(self.port, "127.0.1.6") as s:
            s.mail("other@sender.test")
            self.assertEqual(s.rcpt(ALICE)[0], 250)
        out = self.q.quail("grey", "list").out
        self.assertIn("allow 127.0.1.0/24 passed", out)
        self.assertIn("triplet 127.0.1.0/24 grey@sender.test alice@example.test", out)
        self.assertEqual(len(self.delivered("greylist-round-trip")), 1)

    def test_greyspfpass_lets_an_spf_pass_sender_through_and_no_other(self):
        # The checks on for this test only (both files are read per session).
        self.q.write_control("authcheck", "1\n")
        self.q.write_control("greyspfpass", "1\n")
        try:
            with client(self.port, "127.0.2.7") as s:
                s.mail("news@spfok.test")  # its domain names 127.0.0.0/8: SPF pass
                code, text = s.rcpt(ALICE)
                self.assertEqual(code, 250, text)
                code, text = s.data(b"Subject: spf\r\n\r\ngreyspfpass-through\r\n")
                self.assertEqual(code, 250, text)
            self.delivered("greyspfpass-through")
            with client(self.port, "127.0.3.7") as s:
                s.mail("someone@nospf.test")  # no SPF record: none, greylisted as before
                self.assertEqual(s.rcpt(ALICE)[0], 451)
        finally:
            self.q.write_control("greyspfpass", "0\n")
            self.q.write_control("authcheck", "0\n")
        # Off again: an SPF pass sender from a new network is greylisted.
        with client(self.port, "127.0.4.7") as s:
            s.mail("news@spfok.test")
            self.assertEqual(s.rcpt(ALICE)[0], 451)

    def test_101st_message_in_the_hour_gets_451_others_unaffected(self):
        self.q.quail("grey", "allow", "127.0.2.0/24")
        with client(self.port, "127.0.2.1") as s:
            for i in range(100):
                code, text = s.mail("bulk@sender.test")
                self.assertEqual(code, 250, "message %d: %r" % (i + 1, text))
                self.assertEqual(s.rcpt(ALICE)[0], 250)
                self.assertEqual(s.data(b"Subject: bulk\r\n\r\nbulk %d\r\n" % i)[0], 250)
            code, text = s.mail("bulk@sender.test")
            self.assertEqual(code, 451, text)
            self.assertIn(b"4.7.0 messages rate limit reached for 127.0.2.1: 100 per hour", text)
        with client(self.port, "127.0.2.2") as s:
            self.assertEqual(s.mail("other@sender.test")[0], 250)
            self.assertEqual(s.rcpt(ALICE)[0], 250)
        out = self.q.quail("limits", "show").out
        self.assertIn("messages ip 127.0.2.1 101/100 per hour reached", out)
        self.assertIn("messages ip 127.0.2.2 1/100 per hour", out)

    def test_tarpit_delays_then_ends_a_dictionary_attack(self):
        self.q.quail("grey", "allow", "127.0.3.0/24")
        with client(self.port, "127.0.3.1") as s:
            s.mail("guess@sender.test")
            times = []
            for i in range(3):
                t = time.monotonic()
                self.assertEqual(s.rcpt("nobody%d@example.test" % i)[0], 550)
                times.append(time.monotonic() - t)
            self.assertGreaterEqual(times[2], 0.9)  # past tarpitcount: delayed by tarpitdelay
            code, text = s.rcpt("nobody9@example.test")
            self.assertEqual(code, 421, text)
            self.assertRaises(smtplib.SMTPServerDisconnected, s.noop)

    def test_blocklisted_client_refused_with_the_lists_text_but_postmaster(self):
        with client(self.port, "127.0.0.2") as s:
            s.mail("spam@sender.test")
            code, text = s.rcpt(ALICE)
            self.assertEqual(code, 554)
            self.assertIn(("5.7.1 " + BL_TEXT).encode(), text)
            self.assertEqual(s.rcpt("postmaster@example.test")[0], 250)

    def test_exempted_client_passes_a_blocklist(self):
        self.q.quail("grey", "allow", "127.0.0.3")
        with client(self.port, "127.0.0.3") as s:
            s.mail("fine@sender.test")
            self.assertEqual(s.rcpt(ALICE)[0], 250)


class DnsblProgram(unittest.TestCase):
    """The dnsbl program run as tcpserver runs it, with /usr/bin/env after it to
    show what it hands smtpd: IPv6 listings, connect-time refusal, a dead server."""

    @classmethod
    def setUpClass(cls):
        cls.dns, cls.dns_port = start_dnsmasq([
            "--address=/2.0.0.127.bl.test/127.0.0.2",
            "--address=/%s/127.0.0.2" % v6_name(V6_LISTED, "bl.test"),
            "--txt-record=%s,%s" % (v6_name(V6_LISTED, "bl.test"), BL_TEXT),
            "--address=/4.0.0.127.wl.test/127.0.0.2",
        ])
        cls.q = qt.Instance()
        cls.q.init()
        cls.q.write_control("dnsbl", "bl.test=127.0.0.2\n")
        cls.q.write_control("dnswl", "wl.test\n")
        cls.q.write_control("dnsservers", "127.0.0.1@%d\n" % cls.dns_port)

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()
        stop(cls.dns)

    def run_dnsbl(self, ip, input=b"", extra=None):
        env = {"TCPREMOTEIP": ip}
        env.update(extra or {})
        return self.q.run(["dnsbl", "/usr/bin/env"], input=input, env=env, timeout=60)

    def test_ipv6_client_listed_gets_rblsmtpd_text(self):
        r = self.run_dnsbl(V6_LISTED)
        self.assertIn("RBLSMTPD=-" + BL_TEXT, r.out)
        self.assertIn("event=dnsbl result=listed", r.err)
        r = self.run_dnsbl("2001:db8::26")
        self.assertNotIn("RBLSMTPD", r.out)

    def test_allowlisted_client_is_marked_and_not_blocked(self):
        r = self.run_dnsbl("127.0.0.4")
        self.assertIn("DNSWL=wl.test", r.out)
        self.assertNotIn("RBLSMTPD", r.out)

    def test_rblsmtpd_empty_exempts(self):
        r = self.run_dnsbl("127.0.0.2", extra={"RBLSMTPD": ""})
        self.assertIn("RBLSMTPD=\n", r.out)
        self.assertNotIn("event=dnsbl", r.err)

    def test_refusal_at_connection_speaks_smtp(self):
        self.q.write_control("dnsblrcpt", "0\n")
        try:
            r = self.run_dnsbl("127.0.0.2", input=b"EHLO x\r\nMAIL FROM:<a@b.test>\r\nQUIT\r\n")
        finally:
            os.unlink(self.q.path("control", "dnsblrcpt"))
        self.assertTrue(r.out.startswith("554 5.7.1 listed by bl.test"), r.out)
        self.assertIn("503 5.7.1", r.out)
        self.assertIn("221 2.0.0", r.out)
        self.assertNotIn("TCPREMOTEIP=", r.out)  # env never ran

    def test_dead_dns_server_does_not_block_mail(self):
        dead = free_udp_port()  # nothing listens there
        self.q.write_control("dnsservers", "127.0.0.1@%d\n" % dead)
        self.q.write_control("timeoutdnsbl", "1\n")
        try:
            t = time.monotonic()
            r = self.run_dnsbl("127.0.0.2")
            took = time.monotonic() - t
        finally:
            self.q.write_control("dnsservers", "127.0.0.1@%d\n" % self.dns_port)
            os.unlink(self.q.path("control", "timeoutdnsbl"))
        self.assertIn("TCPREMOTEIP=127.0.0.2", r.out)
        self.assertNotIn("RBLSMTPD", r.out)
        self.assertLess(took, 20)


@unittest.skipUnless(shutil.which("redis-server"), "redis-server is not installed (Debian package redis-server)")
class RedisStore(unittest.TestCase):
    """control/store pointing at a real redis-server on a loopback port: the same
    greylisting and counters, 50 concurrent sessions losing no count."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="quail-redis-")
        cls.redis_port = qt.free_port()
        cls.redis = subprocess.Popen(["redis-server", "--port", str(cls.redis_port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no", "--dir", cls.tmp],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        qt.wait_for(lambda: listening(cls.redis_port), 15, "redis-server listening")
        cls.q = qt.Instance()
        try:
            cls.q.init()
            cls.q.add_user(ALICE)
            cls.q.write_control("store", "redis://127.0.0.1:%d\n" % cls.redis_port)
            cls.q.write_control("greylist", "1\n")
            cls.q.write_control("ratelimitconnections", "1000\n")
            cls.port = qt.free_port()
            cls.q.up(smtp="127.0.0.1:%d" % cls.port)
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()
        stop(cls.redis)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_greylisting_and_admin_tools_over_redis(self):
        with client(self.port, "127.0.5.1") as s:
            s.mail("r@sender.test")
            self.assertEqual(s.rcpt(ALICE)[0], 451)
        self.assertIn("triplet 127.0.5.0/24 r@sender.test alice@example.test", self.q.quail("grey", "list").out)
        self.q.quail("grey", "allow", "127.0.5.0/24")
        with client(self.port, "127.0.5.1") as s:
            s.mail("r@sender.test")
            self.assertEqual(s.rcpt(ALICE)[0], 250)

    def test_50_concurrent_sessions_lose_no_count(self):
        def one(_):
            with client(self.port, "127.0.6.1") as s:
                s.noop()
        qt.run_parallel(one, range(50), concurrency=50)
        out = self.q.quail("limits", "show").out
        self.assertIn("connections ip 127.0.6.1 50/1000 per minute", out)
        self.assertIn("redis 127.0.0.1:%d" % self.redis_port, out)

    def test_dead_redis_fails_open(self):
        self.q.write_control("store", "redis://127.0.0.1:%d\n" % qt.free_port())
        try:
            with client(self.port, "127.0.7.1") as s:
                s.mail("r@sender.test")
                self.assertEqual(s.rcpt(ALICE)[0], 250)
        finally:
            self.q.write_control("store", "redis://127.0.0.1:%d\n" % self.redis_port)
        qt.wait_for(lambda: [r for r in self.q.log_lines() if r.get("prog") == "smtpd" and r.get("event") == "store_error"],
                    15, "event=store_error in the log")


if __name__ == "__main__":
    unittest.main()
