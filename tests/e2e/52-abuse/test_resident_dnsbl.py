"""52-abuse/test_resident_dnsbl: the resident dnsbl (dnsbl -d, man/dnsbl.8
"Resident mode"). With a zone in control/dnsbl or control/dnswl, quail up
starts it and runs `smtpd dnsbl` under tcpserver's fork server: each session
asks it for the client's verdict before its greeting, instead of the dnsbl
program being exec'd in front of an exec'd smtpd. What a client sees is the
same: a listed client is refused at RCPT with the list's text (or at
connection, control/dnsblrcpt 0), an allowlisted one is not greylisted. Without
the resident helper, or when it goes before answering, the session execs the
dnsbl program in its place, so no listed client ever slips through; the lists
are served by a real dnsmasq."""
import os
import shutil
import smtplib
import socket
import threading
import time
import unittest

import quailtest as qt

qt.require("quail", "quail-init", "quail-up", "quail-down", "smtpd", "dnsbl", "tcpserver", "supervise")

RCPT = "alice@example.test"
BL_TEXT = "listed by bl.test: see https://bl.test/lookup"
LISTED = "127.0.52.2"
ALLOWED = "127.0.52.5"  # on the allowlist (and the blocklist: the allowlist wins)
CLEAN = "127.0.52.6"


def rev(ip):
    return ".".join(reversed(ip.split(".")))


def resident_pid(q):
    return qt.process_named(q.root, b"dnsbl-forks")


other_uid_can_connect, closed_by_peer = qt.other_uid_can_connect, qt.closed_by_peer


@unittest.skipUnless(shutil.which("dnsmasq"), "dnsmasq is not installed (Debian package dnsmasq-base)")
class ResidentBase(qt.SmtpWithDns):
    RECORDS = {"%s.bl.test" % rev(LISTED): BL_TEXT}
    DNS_EXTRA = ("--address=/%s.bl.test/127.0.0.2" % rev(LISTED),
                 "--address=/%s.bl.test/127.0.0.2" % rev(ALLOWED),
                 "--address=/%s.wl.test/127.0.0.2" % rev(ALLOWED))
    USERS = (RCPT,)
    CONTROLS = (("dnsbl", "bl.test"), ("dnswl", "wl.test"), ("greydelay", 600))

    def setUp(self):
        self.resident = qt.wait_for(lambda: resident_pid(self.q), 90, "the resident dnsbl")
        qt.wait_for(lambda: os.path.exists(self.q.path("run", "dnsbl.sock")), 10, "its socket")
        self.log_mark = os.path.getsize(self.q.path("log", "smtp.log"))

    def smtp_log(self, event="dnsbl"):
        """This test's smtp.log lines of event; for dnsbl, the lookups' and the
        retries' (not smtpd's result=reject of each refused recipient)."""
        with open(self.q.path("log", "smtp.log"), errors="replace") as f:
            f.seek(self.log_mark)
            lines = [qt.parse_logfmt(line) | {"_line": line.rstrip()} for line in f if line.strip()]
        return [e for e in lines if e.get("event") == event and e.get("result") != "reject"]

    def smtp(self, source):
        s = smtplib.SMTP(timeout=60, source_address=(source, 0))
        s.connect("127.0.0.1", self.port)
        s.ehlo("client.test")
        return s

    def rcpt_code(self, source, rcpt=RCPT):
        s = self.smtp(source)
        try:
            self.assertEqual(s.mail("someone@sender.test")[0], 250)
            return s.rcpt(rcpt)
        finally:
            s.quit()


class ResidentDnsbl(ResidentBase):
    def test_started_and_asked_by_forked_sessions(self):
        out = self.q.quail("status").out
        self.assertTrue([l for l in out.splitlines() if l.startswith("dnsbl running pid=")], out)
        self.assertEqual(os.stat(self.q.path("run", "dnsbl.sock")).st_mode & 0o777, 0o600)
        # smtpd comes from tcpserver's fork server: the wrapper no longer stands before it.
        self.assertIsNotNone(qt.process_named(self.q.root, b"smtpd-forks"))
        code, text = self.rcpt_code(LISTED)
        self.assertEqual(code, 554, text)
        self.assertIn(("5.7.1 " + BL_TEXT).encode(), text)
        self.assertEqual(self.rcpt_code(LISTED, "postmaster@example.test")[0], 250)
        self.assertEqual(self.rcpt_code(CLEAN)[0], 250)
        said = self.smtp_log()
        # The lookup's own line, from the forked helper into the session's log; no retry.
        self.assertEqual([(e.get("result"), e.get("ip"), e.get("at")) for e in said],
                         [("listed", LISTED, "rcpt")] * 2, said)
        self.assertEqual(resident_pid(self.q), self.resident)

    def test_allowlisted_client_is_not_greylisted(self):
        self.q.write_control("greylist", "1\n")
        try:
            self.assertEqual(self.rcpt_code(ALLOWED)[0], 250)  # listed too, but the allowlist wins
            self.assertEqual(self.rcpt_code(CLEAN)[0], 451)
        finally:
            self.q.write_control("greylist", "0\n")
        said = [(e.get("result"), e.get("zone")) for e in self.smtp_log()]
        self.assertEqual(said, [("allowlisted", "wl.test")])

    def test_refusal_at_connection(self):
        self.q.write_control("dnsblrcpt", "0\n")
        try:
            with socket.create_connection(("127.0.0.1", self.port), 30, source_address=(LISTED, 0)) as c:
                f = c.makefile("rwb")
                greeting = f.readline()
                self.assertTrue(greeting.startswith(b"554 5.7.1 " + BL_TEXT.encode()), greeting)
                f.write(b"EHLO client.test\r\n")
                f.flush()
                self.assertTrue(f.readline().startswith(b"503 5.7.1"))
                f.write(b"QUIT\r\n")
                f.flush()
                self.assertTrue(f.readline().startswith(b"221 "))
            self.assertEqual(self.rcpt_code(CLEAN)[0], 250)
        finally:
            os.unlink(self.q.path("control", "dnsblrcpt"))
        said = [(e.get("result"), e.get("at")) for e in self.smtp_log()]
        self.assertEqual(said, [("listed", "connect")])
        # The refused client had no session: no smtpd logged one.
        connects = [e for e in self.smtp_log("connect") if e.get("ip") == LISTED]
        self.assertEqual(connects, [])

    def test_without_the_resident_one_the_dnsbl_program_checks(self):
        sock = self.q.path("run", "dnsbl.sock")
        os.rename(sock, sock + ".aside")
        try:
            code, text = self.rcpt_code(LISTED)
            self.assertEqual(code, 554, text)
            self.assertIn(BL_TEXT.encode(), text)
        finally:
            os.rename(sock + ".aside", sock)
        said = [(e.get("result"), e.get("reason")) for e in self.smtp_log()]
        self.assertEqual(said, [("retry", "no resident dnsbl"), ("listed", None)], said)

    @unittest.skipUnless(os.geteuid() == 0, "switching to another uid needs root")
    def test_only_the_sessions_user_reaches_it_and_a_bad_hello_changes_nothing(self):
        sock = self.q.path("run", "dnsbl.sock")
        ok, err = other_uid_can_connect(sock)
        self.assertFalse(ok, "another uid connected to the resident dnsbl")
        self.assertIn("PermissionError", err)
        # Our own uid: a hello without the stderr it must carry, then no hello at all.
        for hello in (("L%s\n" % LISTED).encode(), b"EHLO me\r\n"):
            with socket.socket(socket.AF_UNIX) as c:
                c.connect(sock)
                c.sendall(hello)
                self.assertTrue(closed_by_peer(c))
        refused = [e for e in self.q.log_lines("dnsbl") if e.get("event") == "refused"]
        self.assertGreaterEqual(len(refused), 2, refused)
        self.assertEqual(resident_pid(self.q), self.resident)
        self.assertEqual(self.rcpt_code(LISTED)[0], 554)


class ResidentDnsblUnderLoad(ResidentBase):
    """Its own instance: the kills leave supervise in a long back-off."""

    def test_killed_under_load_no_listed_client_slips_through(self):
        # The lookup fails open on a dead DNS server, so what the resident one may
        # never do is lose a question: listed and clean clients, 8 at a time,
        # while it is killed again and again. Every listed client must be refused.
        listed, clean, errors = [], [], []
        lock = threading.Lock()
        stop = time.monotonic() + 8

        def client(k):
            n = 0
            while time.monotonic() < stop:
                n += 1
                source = LISTED if n % 2 else CLEAN
                try:
                    code = self.rcpt_code(source)[0]
                except Exception as e:  # noqa: BLE001 - an assertion in this thread too
                    with lock:
                        errors.append(repr(e))
                    continue
                with lock:
                    (listed if source == LISTED else clean).append(code)
        threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        kills = qt.kill_repeatedly(lambda: resident_pid(self.q), stop - 1)
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        self.assertGreaterEqual(kills, 2)
        self.assertTrue(listed and set(listed) == {554}, listed)
        self.assertTrue(clean and set(clean) == {250}, clean)
        failed = [e["_line"] for e in self.smtp_log() if e.get("result") not in ("retry", "listed")]
        self.assertEqual(failed, [])
        retries = len([e for e in self.smtp_log() if e.get("result") == "retry"])
        qt.note("%d listed refused, %d clean accepted, %d kills, %d retries" % (len(listed), len(clean), kills, retries))


def nibbles(ip):
    """RFC 5782's reversed nibbles of an IPv6 address."""
    packed = socket.inet_pton(socket.AF_INET6, ip)
    return ".".join(reversed("".join("%02x" % b for b in packed)))


class ResidentDnsblIpv6(qt.SmtpWithDns):
    """An IPv6 client through the resident path: ::1 without relay rights
    (rules.smtp allows everyone and gives no one RELAYCLIENT), listed by its
    32 nibbles."""
    HOST = "::1"
    RECORDS = {"%s.bl.test" % nibbles("::1"): BL_TEXT}
    DNS_EXTRA = ("--address=/%s.bl.test/127.0.0.2" % nibbles("::1"),)
    USERS = (RCPT,)
    CONTROLS = (("dnsbl", "bl.test"), ("rules.smtp", ":allow"))

    def test_listed_ipv6_client_refused_through_the_resident_dnsbl(self):
        qt.wait_for(lambda: os.path.exists(self.q.path("run", "dnsbl.sock")), 90, "the resident dnsbl's socket")
        with smtplib.SMTP(timeout=60) as s:
            s.connect("::1", self.port)
            s.ehlo("client.test")
            self.assertEqual(s.mail("someone@sender.test")[0], 250)
            code, text = s.rcpt(RCPT)
        self.assertEqual(code, 554, text)
        self.assertIn(BL_TEXT.encode(), text)
        said = [(e.get("prog"), e.get("result"), e.get("ip")) for e in self.q.log_lines("smtp")
                if e.get("event") == "dnsbl" and e.get("result") != "reject"]
        self.assertEqual(said, [("dnsbl", "listed", "::1")])


if __name__ == "__main__":
    unittest.main()
