"""67-mailauth/test_srs: forwarding with SRS between two quail instances. A
(a.test, 127.0.67.11:25) forwards alice@a.test to bob@other.test and
fwd@a.test to dave@other.test by .qmail `&` lines; B (other.test,
127.0.67.12:25) refuses SPF fails. carol@origin.test, whose SPF allows only
127.0.67.13, mails A from that address: the forward reaches bob with an SRS0
envelope sender at a.test and B says spf=pass for it (without SRS the copy would
fail SPF and be refused). dave's .qmail fails (exit 100), so B bounces to the SRS0
address; A accepts it at RCPT, checks it and returns the bounce to carol, at
origin.test's MX (an aiosmtpd sink on 127.0.67.14:25). A forged and an expired
SRS0 address are refused at RCPT (550 5.7.1); the cookie is computed here from
A's key (HMAC-SHA-512-256, as lib/list_cookie), an independent check of the form."""
import base64
import email
import email.policy
import hashlib
import hmac
import os
import smtplib
import sys
import threading
import time
import unittest

import quailtest as qt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    from dns_table import TableDns
except ImportError as e:  # pragma: no cover - DEB_PACKAGES has it
    raise unittest.SkipTest("python3-dnslib not installed: %s" % e)

qt.require("quail", "quail-init", "quail-up", "smtpd", "mailauth", "remote-deliver", "tcpserver", "local-deliver")

A_IP, B_IP, CAROL_IP, SINK_IP, STRANGER_IP = "127.0.67.11", "127.0.67.12", "127.0.67.13", "127.0.67.14", "127.0.67.15"
RETRY = {"QUAIL_RETRY_SCALE": "200"}

TABLE = {
    "a.test": [("TXT", "v=spf1 ip4:127.0.0.1 -all"), ("MX", (10, "mx.a.test"))],
    "mx.a.test": [("A", A_IP)],
    "other.test": [("TXT", "v=spf1 ip4:%s -all" % B_IP), ("MX", (10, "mx.other.test"))],
    "mx.other.test": [("A", B_IP)],
    "origin.test": [("TXT", "v=spf1 ip4:%s -all" % CAROL_IP), ("MX", (10, "mx.origin.test"))],
    "mx.origin.test": [("A", SINK_IP)],
}

ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


def srs_address(key, original, when, domain="a.test"):
    """SRS0=<7 base32 chars of time><13 of HMAC-SHA-512-256>=<local=domain>@domain."""
    t = ""
    v = when
    for _ in range(7):
        t = ALPHABET[v & 31] + t
        v >>= 5
    mac = hmac.new(key, b"srs\0" + original.lower().encode() + b"\0" + t.encode(), hashlib.sha512).digest()[:9]
    cookie = t + base64.b32encode(mac).decode().lower()[:13]
    return "SRS0=%s=%s@%s" % (cookie, original.lower().replace("@", "="), domain)


class Sink:
    """origin.test's MX: every envelope it is given."""

    def __init__(self):
        self.got = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.got.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@unittest.skipUnless(os.geteuid() == 0, "MX delivery is to port 25: binding it needs root")
class SrsForwarding(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from aiosmtpd.controller import Controller

        cls.a = cls.b = cls.dns = cls.sink = None
        try:
            cls.dns = TableDns(TABLE).start()
            dns = "127.0.0.1@%d\n" % cls.dns.port
            cls.collect = Sink()
            cls.sink = Controller(cls.collect, hostname=SINK_IP, port=25)
            cls.sink.start()
            cls.a = qt.Instance()
            cls.a.init("mx.a.test", ["a.test"])
            for user, target in (("alice@a.test", "&bob@other.test\n"), ("fwd@a.test", "&dave@other.test\n")):
                cls.a.add_user(user)
                with open(os.path.join(cls.a.home(user), ".qmail"), "w") as f:
                    f.write(target)
            cls.a.write_control("dnsservers", dns)
            cls.a.write_control("rules.smtp", ":allow\n")
            cls.b = qt.Instance()
            cls.b.init("mx.other.test", ["other.test"])
            cls.b.add_user("bob@other.test")
            cls.b.add_user("dave@other.test")
            with open(os.path.join(cls.b.home("dave@other.test"), ".qmail"), "w") as f:
                f.write("|echo dave does not take mail; exit 100\n")
            for name, value in (("dnsservers", dns.strip()), ("authcheck", "1"), ("spfreject", "1"),
                                ("rules.smtp", ":allow")):
                cls.b.write_control(name, value + "\n")
            cls.a.up(env=RETRY, smtp="%s:25" % A_IP)
            cls.b.up(env=RETRY, smtp="%s:25" % B_IP)
            with open(cls.a.path("control", "srs", "key"), "rb") as f:
                cls.key = f.read()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for q in (cls.a, cls.b):
            if q:
                q.cleanup()
        if cls.sink:
            cls.sink.stop()
        if cls.dns:
            cls.dns.stop()

    def send_from_carol(self, to, subject):
        s = smtplib.SMTP(A_IP, 25, local_hostname="mail.origin.test", source_address=(CAROL_IP, 0), timeout=60)
        try:
            msg = "From: carol@origin.test\r\nTo: %s\r\nSubject: %s\r\n\r\nbody\r\n" % (to, subject)
            s.sendmail("carol@origin.test", [to], msg.encode())
        finally:
            s.quit()

    def stranger(self):
        s = smtplib.SMTP(A_IP, 25, local_hostname="stranger.test", source_address=(STRANGER_IP, 0), timeout=60)
        s.ehlo()
        return s

    def test_forward_passes_spf_at_the_other_domain(self):
        self.send_from_carol("alice@a.test", "forwarded")

        def find():
            for raw in self.b.maildir_messages("bob@other.test"):
                m = email.message_from_bytes(raw, policy=email.policy.compat32)
                if m["Subject"] == "forwarded":
                    return m
            return None
        m = qt.wait_for(find, 60, "the forwarded message at B")
        rp = m["Return-Path"].strip("<>")
        self.assertTrue(rp.startswith("SRS0="), rp)
        self.assertTrue(rp.endswith("=carol=origin.test@a.test"), rp)
        ar = [v for v in m.get_all("Authentication-Results", []) if v.strip().startswith("mx.other.test;")]
        self.assertEqual(len(ar), 1, m.get_all("Authentication-Results"))
        self.assertIn("spf=pass smtp.mailfrom=a.test", ar[0])
        # The SRS0 address is A's: it reverses to carol under A's key, now.
        self.assertEqual(rp.lower(), srs_address(self.key, "carol@origin.test", self.issued(rp)).lower())
        srs = [e for e in self.a.log_lines() if e.get("event") == "srs" and e.get("action") == "rewrite"]
        self.assertIn("<carol@origin.test>", [e.get("from") for e in srs])

    def issued(self, srs):
        t = srs.split("=")[1][:7].lower()
        v = 0
        for c in t:
            v = v * 32 + ALPHABET.index(c)
        return v

    def test_bounce_of_a_forward_returns_to_the_original_sender(self):
        self.send_from_carol("fwd@a.test", "to be bounced")

        def find():
            with self.collect.lock:
                for sender, rcpts, content in self.collect.got:
                    if b"dave@other.test" in content and rcpts == ["carol@origin.test"]:
                        return sender, content
            return None
        sender, content = qt.wait_for(find, 90, "the bounce back at carol's MX")
        self.assertEqual(sender, "<>")
        self.assertIn(b"multipart/report", content)
        # B's own report (dave's .qmail failed there), not one A made for a refused copy.
        self.assertIn(b"Reporting-MTA: dns; mx.other.test", content)
        # B's bounce came through A's smtpd to the SRS0 address, which A sent home.
        home = [e for e in self.a.log_lines() if e.get("event") == "delivered" and
                e.get("to", "").lower().startswith("srs0=") and "original sender" in e.get("reason", "")]
        self.assertTrue(home, "A never delivered to the SRS0 address")
        ret = [e for e in self.a.log_lines() if e.get("event") == "srs" and e.get("action") == "return"]
        self.assertIn("<carol@origin.test>", [e.get("to") for e in ret])

    def test_forged_and_expired_srs_addresses_are_refused_at_rcpt(self):
        now = int(time.time())
        good = srs_address(self.key, "carol@origin.test", now)
        cookie = good.split("=")[1]
        flipped = cookie[:-1] + ("a" if cookie[-1] != "a" else "b")
        forged = good.replace(cookie, flipped)
        expired = srs_address(self.key, "carol@origin.test", now - 22 * 86400)
        other_key = srs_address(b"x" * 32, "carol@origin.test", now)
        s = self.stranger()
        try:
            self.assertEqual(s.mail("")[0], 250)
            for rcpt, want in ((good, 250), (forged, 550), (expired, 550), (other_key, 550)):
                code, text = s.rcpt(rcpt)
                self.assertEqual(code, want, (rcpt, text))
                if want == 550:
                    self.assertTrue(text.startswith(b"5.7.1"), text)
            self.assertIn(b"expired", s.rcpt(expired)[1])
            s.rset()
        finally:
            s.quit()


if __name__ == "__main__":
    unittest.main()
