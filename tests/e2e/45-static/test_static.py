"""The per-connection and per-submission programs are fully static and never use
NSS (quail(8), SYSTEM USERS): smtpd accepts RCPT for a real login created with
useradd and refuses unknown ones without asking nsswitch.conf (Debian's
`passwd: files systemd` made a static getpwnam crash on an unknown name), and
sendmail finds the caller's login name in /etc/passwd. The useradd cases need
root and skip otherwise."""
import os
import pwd
import struct
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import quailtest as qt  # noqa: E402

STATIC = ("smtpd", "sendmail", "inject", "mailq")
LOGIN = "quailst1"
PT_INTERP = 3


def program_headers(path):
    """The p_type of every program header of a 64-bit little-endian ELF file."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, path + " is not ELF64 LE"
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    return [struct.unpack_from("<I", data, phoff + i * phentsize)[0] for i in range(phnum)], data


def smtp_session(q, *rcpts):
    """Runs smtpd on pipes with one pipelined transaction; the reply lines to each RCPT."""
    script = "EHLO client.test\r\nMAIL FROM:<someone@elsewhere.test>\r\n"
    script += "".join("RCPT TO:<%s>\r\n" % r for r in rcpts) + "QUIT\r\n"
    r = q.run(["smtpd"], input=script, env={"TCPREMOTEIP": "192.0.2.1", "TCPREMOTEPORT": "4000"})
    lines = [l for l in r.out.split("\r\n") if l]
    assert lines[0].startswith("220 "), r.out
    assert lines[-1].startswith("221 "), r.out
    # 220, EHLO's lines, MAIL's 250, one reply per RCPT, 221.
    return lines[-1 - len(rcpts):-1]


class StaticBinariesTest(unittest.TestCase):
    @unittest.skipIf(qt.sanitizer_build(), "a sanitizer build links its runtime dynamically")
    def test_programs_are_static_and_link_no_name_service(self):
        qt.require(*STATIC)
        for name in STATIC:
            types, data = program_headers(qt.bin_path(name))
            self.assertNotIn(PT_INTERP, types, name + " has a dynamic loader (PT_INTERP): not static")
            for word in (b"getpwnam", b"getpwuid", b"getgrnam", b"__nss_", b"nsswitch.conf", b"getaddrinfo"):
                self.assertNotIn(word, data, "%s contains %r: NSS is linked in" % (name, word))


@unittest.skipUnless(os.geteuid() == 0, "useradd needs root")
class SystemLoginTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        qt.require("quail", "smtpd")
        subprocess.run(["userdel", "-r", LOGIN], capture_output=True)
        subprocess.run(["useradd", "-m", "-s", "/bin/sh", LOGIN], check=True, capture_output=True)
        cls.pw = pwd.getpwnam(LOGIN)
        cls.q = qt.Instance(prefix="quail-static-")
        cls.q.init(hostname="mx.sys.test", domains=("example.test",))
        # A system install's lookups without its users and owners: smtpd runs as
        # root here, which makes no difference to what it reads.
        cls.q.write_control("locals", "sys.test\n")
        cls.q.write_control("system", "1\n")
        aliases = cls.q.path("users", "aliases.cdb")
        if os.path.exists(aliases):
            os.remove(aliases)  # no alias for root: uid 0 must be refused on its own
        with open(os.path.join(cls.pw.pw_dir, ".qmail-lists-default"), "w") as f:
            f.write("./Maildir/\n")

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()
        subprocess.run(["userdel", "-r", LOGIN], capture_output=True)

    def test_a_useradd_login_is_accepted_and_unknown_names_refused(self):
        self.assertIn(LOGIN, open("/etc/passwd").read(), "useradd wrote /etc/passwd")
        replies = smtp_session(self.q, LOGIN + "@sys.test", LOGIN.upper() + "@SYS.test", LOGIN + "-lists-x@sys.test",
                               LOGIN + "-other@sys.test", "no-such-login-xq7@sys.test", "root@sys.test")
        self.assertTrue(replies[0].startswith("250 2.1.5"), replies)
        self.assertTrue(replies[1].startswith("250 2.1.5"), replies)   # the local part is lowercased
        self.assertTrue(replies[2].startswith("250 2.1.5"), replies)   # .qmail-lists-default
        self.assertTrue(replies[3].startswith("550 5.1.1"), replies)   # an extension without a .qmail file
        self.assertTrue(replies[4].startswith("550 5.1.1"), replies)   # unknown: no crash, no NSS module
        self.assertTrue(replies[5].startswith("550 5.1.1"), replies)   # uid 0 never

    def test_a_removed_login_is_refused_by_the_next_session(self):
        other = LOGIN + "x"
        subprocess.run(["userdel", "-r", other], capture_output=True)
        subprocess.run(["useradd", "-m", other], check=True, capture_output=True)
        try:
            self.assertTrue(smtp_session(self.q, other + "@sys.test")[0].startswith("250 "))
        finally:
            subprocess.run(["userdel", "-r", other], capture_output=True)
        self.assertTrue(smtp_session(self.q, other + "@sys.test")[0].startswith("550 5.1.1"))


class SendmailLoginTest(unittest.TestCase):
    def test_without_user_or_logname_the_sender_is_the_real_uids_login(self):
        qt.require("quail", "sendmail")
        try:
            name = pwd.getpwuid(os.getuid()).pw_name
        except KeyError:
            self.skipTest("uid %d has no passwd entry" % os.getuid())
        if name not in {l.split(":", 1)[0] for l in open("/etc/passwd")}:
            self.skipTest("%s is not in /etc/passwd itself (another NSS source)" % name)
        with qt.Instance(prefix="quail-static-") as q:
            q.init()
            out = os.path.join(q.tmp, "envelope")
            script = os.path.join(q.tmp, "capture")
            with open(script, "w") as f:
                f.write("#!/bin/sh\ncat >/dev/null\ncat <&1 >'%s'\n" % out)
            os.chmod(script, 0o755)
            env = {k: v for k, v in q.env().items() if k not in ("USER", "LOGNAME")}
            env["QUEUE_PROGRAM"] = script
            r = subprocess.run([qt.bin_path("sendmail"), "alice@example.test"], input=b"Subject: x\n\nhi\n",
                               env=env, capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            with open(out, "rb") as f:
                envelope = f.read()
            self.assertTrue(envelope.startswith(b"F%s@" % name.encode()), envelope[:80])


if __name__ == "__main__":
    unittest.main()
