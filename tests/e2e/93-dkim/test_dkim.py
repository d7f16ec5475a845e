"""93-dkim: DKIM signatures checked against independent implementations from
Debian, with every key served by a real dnsmasq on loopback.

quail's signatures (Ed25519 and RSA, from `quail dkim keygen` keys) verify with
dkimpy (python3-dkim) and opendkim-testmsg; dkimpy's (Ed25519, RSA, with and
without l=) verify with `quail dkim verify` (opendkim-testmsg's rsa-sha1 is refused as
policy, RFC 8301); a changed body, a
changed From and a wrong key give fail, text appended under l= gives policy.
Through the pipeline: mail a local client sends through smtpd to a remote
aiosmtpd peer (smtproutes) arrives signed and dkimpy verifies it, also when an
8-bit body was converted to quoted-printable for a peer without 8BITMIME; mail
from outside forwarded by a .qmail file leaves unsigned; a damaged key defers
the message (4.3.5) instead of sending it unsigned.
"""
import base64
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
import unittest

import quailtest as qt

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "65-remote"))
from smtp_peer import Peer  # noqa: E402

qt.require("quail", "quail-init", "quail-dkim", "quail-up", "queue-inject", "queue-send", "local-deliver",
           "remote-deliver", "smtpd", "tcpserver")

try:
    import dkim
    import dns.resolver
    import nacl.signing
except ImportError as e:  # the module is skipped below
    dkim = None
    IMPORT_ERROR = str(e)

DOMAIN = "example.test"
OTHER = "other.test"
DNS_IP = "127.0.93.53"  # port 53 (opendkim reads /etc/resolv.conf, which has no port)


def crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def zone_records(text):
    """{name: record} from quail dkim keygen/show output."""
    out = {}
    for line in text.splitlines():
        if "IN TXT" not in line:
            continue
        name = line.split()[0].rstrip(".")
        parts = line.split('"')[1::2]
        out[name] = "".join(parts)
    return out


def message(n, sender="alice@" + DOMAIN, to="bob@remote.test", body=None):
    return qt.make_message(n, sender=sender, to=to, body=body or b"Hello,\n\n  a  line with  spaces  \n\nbye\n")


class Keys:
    """dkimpy's and opendkim's keys for other.test (RSA made by openssl)."""

    def __init__(self, tmp):
        sk = nacl.signing.SigningKey.generate()
        self.ed_priv = base64.b64encode(bytes(sk))
        self.ed_pub = base64.b64encode(bytes(sk.verify_key)).decode()
        other = nacl.signing.SigningKey.generate()
        self.wrong_pub = base64.b64encode(bytes(other.verify_key)).decode()
        self.rsa_path = os.path.join(tmp, "rsa.pem")
        subprocess.run(["openssl", "genrsa", "-traditional", "-out", self.rsa_path, "2048"], check=True,
                       capture_output=True, timeout=120)
        der = subprocess.run(["openssl", "rsa", "-in", self.rsa_path, "-pubout", "-outform", "DER"], check=True,
                             capture_output=True, timeout=60).stdout
        self.rsa_pub = base64.b64encode(der).decode()
        with open(self.rsa_path, "rb") as f:
            self.rsa_priv = f.read()

    def records(self):
        return {
            "py-ed._domainkey." + OTHER: "v=DKIM1; k=ed25519; p=" + self.ed_pub,
            "py-rsa._domainkey." + OTHER: "v=DKIM1; k=rsa; p=" + self.rsa_pub,
            "wrong._domainkey." + OTHER: "v=DKIM1; k=ed25519; p=" + self.wrong_pub,
        }


def dns_resolver(ip, port):
    r = dns.resolver.Resolver(configure=False)
    r.nameservers = [ip]
    r.port = port
    return r


@unittest.skipUnless(dkim is not None, "python3-dkim, python3-nacl or python3-dnspython missing")
@unittest.skipUnless(shutil.which("dnsmasq"), "dnsmasq is not installed (Debian package dnsmasq-base)")
class Dkim(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="quail-e2e-dkim-")
        cls.q = qt.Instance(prefix="quail-e2e-dkim-")
        cls.dns = None
        cls.peer = cls.seven = None
        try:
            cls.q.init("mx." + DOMAIN, [DOMAIN])
            cls.quail_records = zone_records(cls.q.quail("dkim", "keygen", DOMAIN, "--selector", "t1").out)
            cls.keys = Keys(cls.tmp)
            records = dict(cls.quail_records)
            records.update(cls.keys.records())
            root = os.geteuid() == 0
            cls.dns_ip = DNS_IP if root else "127.0.0.1"
            cls.dns, cls.dns_port = qt.start_dnsmasq_txt(records, cls.dns_ip, 53 if root else None)
            cls.q.write_control("dnsservers", "%s@%d\n" % (cls.dns_ip, cls.dns_port))
            cls.resolv = os.path.join(cls.tmp, "resolv.conf")
            with open(cls.resolv, "w") as f:
                f.write("nameserver %s\n" % cls.dns_ip)
            cls.start_pipeline()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def start_pipeline(cls):
        """smtpd on a free port; remote.test to an aiosmtpd peer, seven.test to a
        peer without 8BITMIME; carol forwards to bob@remote.test."""
        from aiosmtpd.controller import Controller

        class Collect:
            def __init__(self):
                self.got = []

            async def handle_DATA(self, server, session, envelope):
                self.got.append(envelope.original_content)
                return "250 2.0.0 ok"

        cls.collect = Collect()
        cls.peer = Controller(cls.collect, hostname="127.0.0.1", port=qt.free_port())
        cls.peer.start()
        cls.seven = Peer(ehlo=("PIPELINING",)).start()
        # held.test: the damaged-key test's deferral holds that domain back, not remote.test.
        cls.q.write_control("smtproutes", "remote.test:[127.0.0.1]:%d\nseven.test:[127.0.0.1]:%d\n"
                            "held.test:[127.0.0.1]:%d\n" % (cls.peer.port, cls.seven.port, cls.peer.port))
        cls.q.add_user("carol@" + DOMAIN)
        with open(os.path.join(cls.q.home("carol@" + DOMAIN), ".qmail"), "w") as f:
            f.write("&bob@remote.test\n")
        cls.smtp_port = qt.free_port()
        cls.q.up(smtp="127.0.0.1:%d" % cls.smtp_port)

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()
        if cls.peer:
            cls.peer.stop()
        if cls.seven:
            cls.seven.stop()
        if cls.dns:
            cls.dns.terminate()
            cls.dns.wait(10)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- helpers
    def txt(self, name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        try:
            ans = dns_resolver(self.dns_ip, self.dns_port).resolve(name.rstrip("."), "TXT", lifetime=timeout)
        except Exception:
            return None
        return b"".join(ans[0].strings)

    def dkimpy_results(self, data):
        """dkimpy's verdict on each DKIM-Signature of data, top down."""
        data = crlf(data)
        n = sum(1 for name, _ in qt.header_fields(data) if name.lower() == "dkim-signature")
        d = dkim.DKIM(data)

        def one(i):
            try:
                return d.verify(idx=i, dnsfunc=self.txt)
            except dkim.ValidationError:  # a body hash mismatch is raised, not returned
                return False
        return [one(i) for i in range(n)]

    def quail_verify(self, data):
        r = self.q.quail("dkim", "verify", input=data, check=False)
        return r.returncode, r.out.splitlines()

    def opendkim(self, data, *args):
        """opendkim-testmsg with /etc/resolv.conf pointing at our dnsmasq (its own mount namespace)."""
        cmd = "mount --bind %s /etc/resolv.conf && exec opendkim-testmsg %s" % (self.resolv, " ".join(args))
        return subprocess.run(["unshare", "-m", "sh", "-c", cmd], input=data, capture_output=True, timeout=60)

    def need_opendkim(self):
        if not shutil.which("opendkim-testmsg"):
            self.skipTest("opendkim-tools is not installed")
        if os.geteuid() != 0 or not shutil.which("unshare"):
            self.skipTest("opendkim reads /etc/resolv.conf: a private mount of it needs root")

    # -- quail signs, others verify
    def test_keygen_publishes_ed25519_and_rsa_and_show_repeats_them(self):
        self.assertEqual(sorted(self.quail_records), ["t1-ed25519._domainkey." + DOMAIN, "t1-rsa._domainkey." + DOMAIN])
        shown = self.q.quail("dkim", "show").out
        self.assertEqual(zone_records(shown), self.quail_records)
        self.assertEqual(shown.count("; signing"), 2)
        key_dir = self.q.path("control", "dkim", DOMAIN)
        for name in os.listdir(key_dir):
            self.assertEqual(os.stat(os.path.join(key_dir, name)).st_mode & 0o777, 0o600, name)
        self.assertEqual(os.stat(key_dir).st_mode & 0o777, 0o700)
        r = self.q.quail("dkim", "keygen", DOMAIN, "--selector", "t1", check=False)
        self.assertEqual(r.returncode, 100, "an existing key is never overwritten")

    def test_quail_signatures_verify_with_dkimpy_and_opendkim(self):
        signed = self.q.quail("dkim", "sign", DOMAIN, input=message(1)).stdout
        self.assertEqual(self.dkimpy_results(signed), [True, True])
        code, lines = self.quail_verify(signed)
        self.assertEqual(code, 0, lines)
        self.assertEqual([l.split()[0] for l in lines], ["dkim=pass", "dkim=pass"])
        self.need_opendkim()
        r = self.opendkim(crlf(signed))
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_tampered_quail_signatures_fail_everywhere(self):
        signed = self.q.quail("dkim", "sign", DOMAIN, input=message(2)).stdout
        body = signed.replace(b"bye", b"BYE")
        from_ = signed.replace(b"From: <alice@", b"From: <mallory@")
        for bad in (body, from_):
            self.assertEqual(self.dkimpy_results(bad), [False, False])
            code, lines = self.quail_verify(bad)
            self.assertEqual(code, 1)
            self.assertEqual([l.split()[0] for l in lines], ["dkim=fail", "dkim=fail"])
        self.assertIn("body hash did not verify", self.quail_verify(body)[1][0])
        self.need_opendkim()
        self.assertNotEqual(self.opendkim(crlf(body)).returncode, 0)

    # -- others sign, quail verifies
    def test_dkimpy_signatures_verify_with_quail(self):
        m = crlf(message(3, sender="dora@" + OTHER))
        ed = dkim.sign(m, b"py-ed", OTHER.encode(), self.keys.ed_priv, signature_algorithm=b"ed25519-sha256",
                       canonicalize=(b"relaxed", b"relaxed"))
        rsa = dkim.sign(m, b"py-rsa", OTHER.encode(), self.keys.rsa_priv, canonicalize=(b"simple", b"simple"))
        code, lines = self.quail_verify(ed + rsa + m)
        self.assertEqual(code, 0, lines)
        self.assertEqual(lines, ["dkim=pass header.d=other.test header.s=py-ed a=ed25519-sha256",
                                 "dkim=pass header.d=other.test header.s=py-rsa a=rsa-sha256"])
        wrong = dkim.sign(m, b"wrong", OTHER.encode(), self.keys.ed_priv, signature_algorithm=b"ed25519-sha256")
        code, lines = self.quail_verify(wrong + m)
        self.assertEqual((code, lines[0].split()[0]), (1, "dkim=fail"), lines)
        changed = (ed + rsa + m).replace(b"bye", b"BYE")
        self.assertEqual([l.split()[0] for l in self.quail_verify(changed)[1]], ["dkim=fail", "dkim=fail"])
        changed_from = (ed + rsa + m).replace(b"From: <dora@", b"From: <eve@")
        self.assertEqual([l.split()[0] for l in self.quail_verify(changed_from)[1]], ["dkim=fail", "dkim=fail"])

    def test_l_tag_leaving_bytes_unsigned_is_policy(self):
        m = crlf(message(4, sender="dora@" + OTHER))
        sig = dkim.sign(m, b"py-rsa", OTHER.encode(), self.keys.rsa_priv, length=True)
        self.assertIn(b"l=", sig)
        code, lines = self.quail_verify(sig + m)
        self.assertEqual(code, 0, lines)  # l= covers the whole body: a pass
        code, lines = self.quail_verify(sig + m + b"click here: http://evil.test/\r\n")
        self.assertEqual(code, 1, lines)
        self.assertTrue(lines[0].startswith("dkim=policy ") and "unsigned" in lines[0], lines)

    def test_opendkim_rsa_sha1_signature_is_refused_as_policy(self):
        # opendkim-testmsg signs with rsa-sha1, which RFC 8301 forbids verifiers to
        # accept: quail says policy without checking it (opendkim's verification of
        # quail's rsa-sha256 and ed25519-sha256 signatures is tested above).
        if not shutil.which("opendkim-testmsg"):
            self.skipTest("opendkim-tools is not installed")
        m = crlf(message(5, sender="dora@" + OTHER))
        r = subprocess.run(["opendkim-testmsg", "-d", OTHER, "-s", "py-rsa", "-k", self.keys.rsa_path],
                           input=m, capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"a=rsa-sha1;", r.stdout)
        code, lines = self.quail_verify(r.stdout)
        self.assertEqual(code, 1, lines)
        self.assertEqual(lines, ["dkim=policy header.d=other.test header.s=py-rsa a=rsa-sha1 "
                                 "(rsa-sha1 is not accepted (RFC 8301))"])

    # -- the pipeline
    def wait_peer(self, n):
        return qt.wait_for(lambda: [m for m in self.collect.got if b"X-Quail-Test: %d" % n in m], 60,
                           "message %d at the peer" % n)[0]

    def test_mail_from_a_local_client_arrives_signed_and_verifies(self):
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=60) as s:
            s.sendmail("alice@" + DOMAIN, ["bob@remote.test"], crlf(message(10)))
        got = self.wait_peer(10)
        self.assertEqual(self.dkimpy_results(got), [True, True])
        self.assertEqual(self.quail_verify(got)[0], 0)
        signs = [e for e in self.q.log_lines() if e.get("event") == "dkim_sign"]
        self.assertTrue(signs and signs[-1]["d"] == DOMAIN and signs[-1]["s"] == "t1-ed25519,t1-rsa", signs)

    def test_8bit_body_converted_for_a_peer_without_8bitmime_is_signed_as_sent(self):
        body = "Grüße aus Zürich\n".encode()
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=60) as s:
            s.sendmail("alice@" + DOMAIN, ["bob@seven.test"], crlf(message(11, to="bob@seven.test", body=body)))
        qt.wait_for(lambda: self.seven.messages(), 60, "message at the 7-bit peer")
        got = self.seven.messages()[0][2]
        self.assertIn(b"quoted-printable", got)
        self.assertEqual(self.dkimpy_results(got), [True, True])

    def test_a_damaged_key_defers_rather_than_sending_unsigned(self):
        key = self.q.path("control", "dkim", DOMAIN, "t1-rsa.key")
        with open(key, "rb") as f:
            good = f.read()
        try:
            with open(key, "wb") as f:
                f.write(b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
            with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=60) as s:
                s.sendmail("alice@" + DOMAIN, ["bob@held.test"], crlf(message(13, to="bob@held.test")))
            deferred = qt.wait_for(lambda: [e for e in self.q.log_lines() if e.get("event") == "delivery" and
                                            e.get("result") == "deferred" and "t1-rsa.key" in e.get("reason", "")],
                                   60, "the deferral naming the key file")
            self.assertIn("4.3.5", deferred[0]["reason"])
            self.assertFalse([m for m in self.collect.got if b"X-Quail-Test: 13" in m], "sent unsigned")
        finally:
            with open(key, "wb") as f:
                f.write(good)

    def test_mail_from_outside_forwarded_by_dotqmail_is_not_signed(self):
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=60, source_address=("127.0.0.2", 0)) as s:
            s.sendmail("someone@" + DOMAIN, ["carol@" + DOMAIN],
                       crlf(message(12, sender="someone@" + DOMAIN, to="carol@" + DOMAIN)))
        got = self.wait_peer(12)
        self.assertNotIn(b"DKIM-Signature", got)
        self.assertEqual(self.quail_verify(got), (1, ["dkim=none (no DKIM-Signature)"]))


if __name__ == "__main__":
    unittest.main()
