"""90-system/test_system_dnsbl: a DNS list in a system install. quail up
starts the resident dnsbl as root with quail-smtpd's ids; it binds its socket,
becomes quail-smtpd, and its forked processes look clients up as that user
(reading control/ and asking the DNS server the administrator named) for the
sessions that tcpserver's fork server runs as quail-smtpd. A listed client is
refused with the list's text, a clean one is accepted, and the lookup's line
lands in the session's log."""
import os
import pwd
import shutil
import smtplib
import unittest

import quailtest as qt

qt.require("quail", "tcpserver", "smtpd", "dnsbl", "supervise")

LISTED = "127.0.90.2"
CLEAN = "127.0.90.6"
TEXT = "listed by bl.test for the system install"


def rev(ip):
    return ".".join(reversed(ip.split(".")))


def ids_of(pid):
    """The real, effective, saved and filesystem uids of a live process."""
    for line in qt._proc_read(pid, "status").decode().splitlines():
        if line.startswith("Uid:"):
            return {int(u) for u in line.split()[1:]}
    return set()


@unittest.skipUnless(os.geteuid() == 0, "a system install needs root")
@unittest.skipUnless(shutil.which("dnsmasq"), "dnsmasq is not installed (Debian package dnsmasq-base)")
class SystemDnsblTest(qt.SmtpWithDns):
    RECORDS = {"%s.bl.test" % rev(LISTED): TEXT}
    DNS_EXTRA = ("--address=/%s.bl.test/127.0.0.2" % rev(LISTED),)
    INIT = ("--system",)
    USERS = ("alice@example.test",)
    CONTROLS = (("dnsbl", "bl.test"),)

    def rcpt(self, source):
        with smtplib.SMTP(timeout=60, source_address=(source, 0)) as c:
            c.connect("127.0.0.1", self.port)
            c.ehlo("client.elsewhere.test")
            self.assertEqual(c.mail("someone@elsewhere.test")[0], 250)
            return c.rcpt("alice@example.test")

    def test_the_resident_dnsbl_runs_as_the_sessions_user_and_refuses_a_listed_client(self):
        smtpd_uid = pwd.getpwnam("quail-smtpd").pw_uid
        resident = qt.wait_for(lambda: qt.process_named(self.q.root, b"dnsbl-forks"), 30, "the resident dnsbl")
        self.assertEqual(ids_of(resident), {smtpd_uid})
        st = os.stat(self.q.path("run", "dnsbl.sock"))
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (smtpd_uid, 0o600))
        code, text = self.rcpt(LISTED)
        self.assertEqual(code, 554, text)
        self.assertIn(TEXT.encode(), text)
        self.assertEqual(self.rcpt(CLEAN)[0], 250)
        lines = [e for e in self.q.log_lines("smtp") if e.get("event") == "dnsbl"]
        said = [(e.get("prog"), e.get("result"), e.get("ip")) for e in lines if e.get("result") != "reject"]
        # The forked process's own line, in the session's log; no session fell back to the program.
        self.assertEqual(said, [("dnsbl", "listed", LISTED)], lines)
        self.assertEqual(qt.process_named(self.q.root, b"dnsbl-forks"), resident)


if __name__ == "__main__":
    unittest.main()
