"""67-mailauth/test_inbound: SPF and DMARC at a quail instance's smtpd, through
its mailauth helper. Instance A (a.test) mails instance B (b.test, 127.0.67.3:25)
through MX and SPF/DMARC records served by the test DNS server (dns_table.py);
a.test publishes "v=spf1 ip4:127.0.0.1 -all" and p=reject. B treats every client
as without relay rights and is set to refuse SPF fails, DMARC p=reject failures
and to add Received-SPF. A's mail arrives with spf=pass and dmarc=pass; a client
forging a.test as its envelope sender is refused at MAIL FROM (550 5.7.23); one
forging only the From field is refused at the end of DATA (550 5.7.1); a sender
without SPF or DMARC is accepted with spf=none, dmarc=none, and the
Authentication-Results field it forged under B's authserv-id is gone; a From
domain publishing p=quarantine that fails is delivered marked X-Quail-Quarantine."""
import email
import email.policy
import os
import smtplib
import sys
import unittest

import quailtest as qt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    from dns_table import TableDns
except ImportError as e:  # pragma: no cover - DEB_PACKAGES has it
    raise unittest.SkipTest("python3-dnslib not installed: %s" % e)

qt.require("quail", "quail-init", "quail-up", "sendmail", "smtpd", "mailauth", "remote-deliver", "tcpserver")

B_IP, FORGER_IP = "127.0.67.3", "127.0.67.5"
RETRY = {"QUAIL_RETRY_SCALE": "200"}

TABLE = {
    "a.test": [("TXT", "v=spf1 ip4:127.0.0.1 -all")],
    "_dmarc.a.test": [("TXT", "v=DMARC1; p=reject")],
    "b.test": [("MX", (10, "mx.b.test"))],
    "mx.b.test": [("A", B_IP)],
    "evil.test": [("A", "192.0.2.66")],
    "_dmarc.q.test": [("TXT", "v=DMARC1; p=quarantine")],
}


def dkim_records(keygen_output):
    """{name: [("TXT", record)]} from the zone lines quail dkim keygen prints."""
    out = {}
    for line in keygen_output.splitlines():
        if "IN TXT" in line:
            out[line.split()[0].rstrip(".")] = [("TXT", "".join(line.split('"')[1::2]))]
    assert len(out) == 2, keygen_output  # an Ed25519 and an RSA key
    return out


def message(sender_header, subject, extra=""):
    return ("From: %s\r\nTo: bob@b.test\r\nSubject: %s\r\n%s\r\nbody\r\n" % (sender_header, subject, extra)).encode()


@unittest.skipUnless(os.geteuid() == 0, "MX delivery is to port 25: binding it needs root")
class InboundChecks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = cls.b = cls.dns = None
        try:
            cls.a = qt.Instance()
            cls.a.init("mx.a.test", ["a.test"])
            # A signs its own mail (quail dkim keygen), and the test DNS publishes the keys.
            table = dict(TABLE)
            table.update(dkim_records(cls.a.quail("dkim", "keygen", "a.test", "--selector", "s1").out))
            cls.dns = TableDns(table).start()
            cls.a.write_control("dnsservers", "127.0.0.1@%d\n" % cls.dns.port)
            cls.b = qt.Instance()
            cls.b.init("mx.b.test", ["b.test"])
            cls.b.add_user("bob@b.test")
            for name, value in (("dnsservers", "127.0.0.1@%d" % cls.dns.port), ("authcheck", "1"),
                                ("spfreject", "1"), ("dmarcreject", "1"), ("spfreceived", "1"), ("dmarcquarantine", "1"),
                                ("rules.smtp", ":allow")):
                cls.b.write_control(name, value + "\n")
            cls.a.up(env=RETRY)
            cls.b.up(env=RETRY, smtp="%s:25" % B_IP)
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for q in (cls.a, cls.b):
            if q:
                q.cleanup()
        if cls.dns:
            cls.dns.stop()

    def delivered(self, subject):
        def find():
            for raw in self.b.maildir_messages("bob@b.test"):
                m = email.message_from_bytes(raw, policy=email.policy.compat32)
                if m["Subject"] == subject:
                    return m
            return None
        return qt.wait_for(find, 60, "the message %r at B" % subject)

    def smtp(self):
        s = smtplib.SMTP(B_IP, 25, local_hostname="forger.test", source_address=(FORGER_IP, 0), timeout=60)
        s.ehlo()
        return s

    def ours(self, m):
        return [v for v in m.get_all("Authentication-Results", []) if v.strip().lower().startswith("mx.b.test;")]

    def test_mail_from_a_passes_spf_and_dmarc(self):
        r = self.a.sendmail(["-f", "alice@a.test", "bob@b.test"], message("alice@a.test", "from A"))
        self.assertEqual(r.returncode, 0, r.err)
        m = self.delivered("from A")
        ar = self.ours(m)
        self.assertEqual(len(ar), 1, m.get_all("Authentication-Results"))
        self.assertIn("spf=pass smtp.mailfrom=a.test", ar[0])
        # A's remote-deliver signed it with both keys; B verified both against the published records.
        self.assertIn("dkim=pass header.d=a.test header.s=s1-ed25519", ar[0])
        self.assertIn("dkim=pass header.d=a.test header.s=s1-rsa", ar[0])
        self.assertIn("dmarc=pass (p=reject dis=none) header.from=a.test", ar[0])
        self.assertTrue(m["Received-SPF"].startswith("pass "), m["Received-SPF"])
        # Ours is above the Received line of B's smtpd (the queue's own comes later, above it).
        fields = [(k.lower(), v) for k, v in m.items()]
        ours_at = fields.index(("authentication-results", m["Authentication-Results"]))
        smtpd_at = [i for i, (k, v) in enumerate(fields) if k == "received" and v.startswith("from mx.a.test")][0]
        self.assertLess(ours_at, smtpd_at)
        spf = [e for e in self.b.log_lines() if e.get("event") == "spf" and e.get("from") == "<alice@a.test>"]
        self.assertIn("pass", [e["result"] for e in spf])

    def test_forged_envelope_sender_is_refused_at_mail(self):
        s = self.smtp()
        try:
            code, text = s.mail("alice@a.test")
            self.assertEqual(code, 550)
            self.assertTrue(text.startswith(b"5.7.23"), text)
        finally:
            s.quit()

    def test_forged_from_fails_dmarc_and_is_refused_after_data(self):
        s = self.smtp()
        try:
            self.assertEqual(s.mail("mallory@evil.test")[0], 250)
            self.assertEqual(s.rcpt("bob@b.test")[0], 250)
            code, text = s.data(message("Alice <alice@a.test>", "forged From"))
            self.assertEqual(code, 550)
            self.assertTrue(text.startswith(b"5.7.1"), text)
        finally:
            s.quit()
        d = [e for e in self.b.log_lines() if e.get("event") == "dmarc" and e.get("domain") == "a.test"]
        self.assertEqual((d[-1]["result"], d[-1]["action"]), ("fail", "reject"))

    def test_forged_results_under_our_id_are_removed(self):
        forged = ("Authentication-Results: mx.b.test; spf=pass smtp.mailfrom=a.test; dmarc=pass\r\n"
                  "Authentication-Results: upstream.test; spf=pass\r\n"
                  "X-Quail-Quarantine: no\r\n")
        s = self.smtp()
        try:
            s.sendmail("mallory@evil.test", ["bob@b.test"], message("mallory@evil.test", "forged results", forged))
        finally:
            s.quit()
        m = self.delivered("forged results")
        ar = self.ours(m)
        self.assertEqual(len(ar), 1, m.get_all("Authentication-Results"))
        self.assertIn("spf=none smtp.mailfrom=evil.test", ar[0])
        self.assertIn("dmarc=none header.from=evil.test", ar[0])
        self.assertIn("upstream.test; spf=pass", " ".join(m.get_all("Authentication-Results")))
        self.assertIsNone(m["X-Quail-Quarantine"])

    def test_dmarc_quarantine_is_marked(self):
        s = self.smtp()
        try:
            s.sendmail("mallory@evil.test", ["bob@b.test"], message("Quentin <q@q.test>", "quarantined"))
        finally:
            s.quit()
        m = self.delivered("quarantined")
        self.assertEqual(m["X-Quail-Quarantine"], "dmarc q.test p=quarantine")
        self.assertIn("dmarc=fail (p=quarantine dis=quarantine) header.from=q.test", self.ours(m)[0])


if __name__ == "__main__":
    unittest.main()
