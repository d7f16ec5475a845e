"""85-lists, DMARC: a list post from an author whose domain publishes p=reject
goes out From the list ("Name via list", Reply-To the author), one from a p=none
domain keeps its From, and both leave signed with the list domain's DKIM key
(issue 14); a list made with --from-rewrite never keeps even a p=reject
author's From and still signs. Real processes: `quail init`, `quail dkim keygen`, `quail list
create/add`, `quail up`; a dnsmasq on loopback serves the DMARC records and the
list's public keys; the remote subscriber is an aiosmtpd peer reached through
control/smtproutes; dkimpy (python3-dkim) verifies the signatures.
"""
import email
import email.policy
import re
import shutil
import unittest

import quailtest as qt

qt.require("quail", "quail-init", "quail-dkim", "quail-list", "quail-up", "list-post", "sendmail", "queue-send",
           "local-deliver", "remote-deliver")

try:
    import dkim
    import dns.resolver
except ImportError:  # the module is skipped below
    dkim = None

D = "example.test"
LIST = "alice-team@" + D
DMARC = {"_dmarc.strict.test": "v=DMARC1; p=reject", "_dmarc.open.test": "v=DMARC1; p=none"}


def crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def zone_records(text):
    """{name: record} from quail dkim keygen output."""
    out = {}
    for line in text.splitlines():
        if "IN TXT" in line:
            out[line.split()[0].rstrip(".")] = "".join(line.split('"')[1::2])
    return out


@unittest.skipUnless(dkim is not None, "python3-dkim or python3-dnspython missing")
@unittest.skipUnless(shutil.which("dnsmasq"), "dnsmasq is not installed (Debian package dnsmasq-base)")
class ListDmarc(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from aiosmtpd.controller import Controller

        class Collect:
            def __init__(self):
                self.got = []

            async def handle_DATA(self, server, session, envelope):
                self.got.append(envelope.original_content)
                return "250 2.0.0 ok"

        cls.q = qt.Instance(prefix="quail-lists-dmarc-")
        cls.dns = cls.peer = None
        try:
            cls.q.init("mx." + D, [D])
            records = zone_records(cls.q.quail("dkim", "keygen", D, "--selector", "l1").out)
            records.update(DMARC)
            cls.dns, cls.dns_port = qt.start_dnsmasq_txt(records)
            cls.q.write_control("dnsservers", "127.0.0.1@%d\n" % cls.dns_port)
            cls.collect = Collect()
            cls.peer = Controller(cls.collect, hostname="127.0.0.1", port=qt.free_port())
            cls.peer.start()
            cls.q.write_control("smtproutes", "remote.test:[127.0.0.1]:%d\n" % cls.peer.port)
            cls.q.add_user("alice@" + D)
            cls.q.up()
            cls.q.quail("list", "create", LIST)
            cls.q.quail("list", "add", LIST, "bob@remote.test")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()
        if cls.peer:
            cls.peer.stop()
        if cls.dns:
            cls.dns.terminate()
            cls.dns.wait(10)

    def txt(self, name, timeout=5):
        r = dns.resolver.Resolver(configure=False)
        r.nameservers = ["127.0.0.1"]
        r.port = self.dns_port
        try:
            ans = r.resolve(name.decode().rstrip("."), "TXT", lifetime=timeout)
        except Exception:
            return None
        return b"".join(ans[0].strings)

    def verifies(self, data):
        try:
            return dkim.DKIM(crlf(data)).verify(dnsfunc=self.txt)
        except dkim.ValidationError:
            return False

    def post(self, n, sender, from_field, extra="", to=LIST):
        msg = "From: %s\nTo: %s\nSubject: post %d\nX-Quail-Test: %d\n%s\nhello from %s\n" % (
            from_field, to, n, n, extra, sender)
        r = self.q.sendmail(["-f", sender, to], msg.encode())
        self.assertEqual(r.returncode, 0, r.err)
        got = qt.wait_for(lambda: [m for m in self.collect.got if b"X-Quail-Test: %d\r\n" % n in crlf(m)], 60,
                          "post %d at the remote subscriber" % n)[0]
        return got, email.message_from_bytes(got, policy=email.policy.default)

    def assert_signed_by_list(self, data, parsed):
        sig = re.sub(r"\s", "", str(parsed["DKIM-Signature"]))
        self.assertIn(";d=%s;" % D, ";" + sig)
        signed = [h.lower() for h in re.search(r"(?:^|;)h=([^;]*)", sig).group(1).split(":")]
        self.assertIn("from", signed)
        self.assertTrue(self.verifies(data), "dkimpy does not verify the list's signature")
        forged = re.sub(rb"(?m)^From: ", b"From: Mallory <m@evil.test>, ", data, count=1)
        self.assertNotEqual(forged, data)
        self.assertFalse(self.verifies(forged), "the signature does not cover From")

    def test_a_p_reject_author_gets_the_lists_from_and_a_p_none_author_keeps_hers(self):
        data, m = self.post(1, "ann@strict.test", '"Ann Example" <ann@strict.test>')
        self.assertEqual(str(m["From"]), "Ann Example via alice-team <%s>" % LIST)
        self.assertEqual(m["From"].addresses[0].addr_spec, LIST)
        self.assertEqual([(a.display_name, a.addr_spec) for a in m["Reply-To"].addresses],
                         [("Ann Example", "ann@strict.test")])
        self.assertEqual(m["Subject"], "post 1")
        self.assertEqual(m["List-Id"], "<alice-team.%s>" % D)
        self.assert_signed_by_list(data, m)

        data, m = self.post(2, "olly@open.test", "Olly <olly@open.test>")
        self.assertEqual(str(m["From"]), "Olly <olly@open.test>")
        self.assertIsNone(m["Reply-To"])
        self.assert_signed_by_list(data, m)

    def test_an_existing_reply_to_keeps_its_address_and_gains_the_author(self):
        data, m = self.post(3, "ann@strict.test", "ann@strict.test", extra="Reply-To: desk@strict.test\n")
        self.assertEqual(str(m["From"]), "ann via alice-team <%s>" % LIST)
        self.assertEqual([a.addr_spec for a in m["Reply-To"].addresses], ["desk@strict.test", "ann@strict.test"])
        self.assertTrue(self.verifies(data))

    def test_a_list_created_with_from_rewrite_never_keeps_every_from_and_still_signs(self):
        raw = "alice-raw@" + D
        self.q.quail("list", "create", raw, "--from-rewrite", "never")
        self.assertIn("\nfrom-rewrite never\n", self.q.quail("list", "show", raw).out)
        self.q.quail("list", "add", raw, "bob@remote.test")
        data, m = self.post(4, "ann@strict.test", "Ann <ann@strict.test>", to=raw)
        self.assertEqual(str(m["From"]), "Ann <ann@strict.test>")
        self.assertIsNone(m["Reply-To"])
        self.assert_signed_by_list(data, m)


if __name__ == "__main__":
    unittest.main()
