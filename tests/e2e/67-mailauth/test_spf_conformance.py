"""67-mailauth/test_spf_conformance: quail's SPF evaluator (`mailauth spf IP
SENDER HELO`) against Debian's pyspf (python3-spf), both asking the same test
DNS server (dns_table.py, python3-dnslib) about the records of spf_cases.py:
every mechanism, redirect= and exp=, macros with transformers and delimiters,
the 10-lookup and 2-void-lookup limits, more than 10 MX hosts, SERVFAIL and a
server that never answers, and malformed records. Each case must give the
result it names in both, and the explanations of exp= must agree."""
import os
import sys
import threading
import unittest

import quailtest as qt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import dns.resolver
    import spf
    from dns_table import TableDns
    import spf_cases
except ImportError as e:  # pragma: no cover - DEB_PACKAGES has them
    raise unittest.SkipTest("python3-spf / python3-dnslib not installed: %s" % e)

qt.require("quail", "quail-init", "mailauth")


class SpfConformance(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = TableDns(spf_cases.TABLE, servfail=spf_cases.SERVFAIL, silent=spf_cases.SILENT).start()
        cls.q = qt.Instance()
        cls.q.init("mx.us.test", ["us.test"])
        cls.q.write_control("dnsservers", "127.0.0.1@%d\n" % cls.dns.port)
        r = dns.resolver.Resolver(configure=False)
        r.nameservers = ["127.0.0.1"]
        r.port = cls.dns.port
        dns.resolver.default_resolver = r
        # libunbound gives up on a silent server only after half a minute of
        # retries: that check runs beside the others instead of after them.
        cls.slow = {}
        ip, sender, helo, _ = spf_cases.TIMEOUT_CASE
        cls.slow_thread = threading.Thread(target=lambda: cls.slow.update(r=cls.quail(cls, ip, sender, helo)))
        cls.slow_thread.start()

    @classmethod
    def tearDownClass(cls):
        cls.slow_thread.join(150)
        cls.q.cleanup()
        cls.dns.stop()

    def quail(self, ip, sender, helo):
        r = self.q.run(["mailauth", "spf", ip, sender, helo], env={"QUAIL_ROOT": self.q.root}, timeout=120)
        result, domain, text = (r.out.rstrip("\n").split(" ", 2) + ["", ""])[:3]
        return result, text

    def pyspf(self, ip, sender, helo, timeout=20):
        result, explanation = spf.check2(i=ip, s=sender, h=helo, receiver="mx.us.test", timeout=timeout)
        return result, explanation

    def test_every_case_agrees(self):
        for ip, sender, helo, want in spf_cases.CASES:
            with self.subTest(sender=sender, ip=ip):
                ours, our_text = self.quail(ip, sender, helo)
                theirs, their_text = self.pyspf(ip, sender, helo)
                self.assertEqual((ours, theirs), (want, want), "quail, pyspf")
                if sender.endswith("@exp.test"):
                    self.assertEqual(our_text, their_text)
                    self.assertEqual(our_text, spf_cases.V4 + " is not one of exp.test's designated mail servers.")

    def test_a_server_that_never_answers_is_temperror(self):
        ip, sender, helo, want = spf_cases.TIMEOUT_CASE
        self.assertEqual(self.pyspf(ip, sender, helo, timeout=5)[0], want)
        self.slow_thread.join(150)
        self.assertEqual(self.slow["r"][0], want)


if __name__ == "__main__":
    unittest.main()
