#!/usr/bin/python3
"""05-admin, a CLI for people (man/quail.8): `quail --help` lists every command
and agrees with quail(8); every command of this part answers --help; --version;
--root before or after the command; an error for a missing root names --root,
QUAIL_ROOT and quail init; init names a missing --hostname; successful commands
say what they did in one line; sendmail -bv says how an address would be
delivered; sendmail on a terminal prints sentences, not logfmt.
"""
import sys
sys.dont_write_bytecode = True
import os
import pty
import re
import subprocess
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import quailtest as qt  # noqa: E402

qt.require("quail", "quail-init", "quail-user", "quail-queue", "quail-check", "quail-aliases", "quail-rules",
           "sendmail", "mailq")

MAN = os.path.join(qt.REPO, "man", "quail.8")
# Commands whose --help this part answers; up, down and status are part 2's.
MINE = ("init", "user", "queue", "check", "aliases", "rules")


def help_commands(text):
    """The command names of `quail --help`: its indented lines' first words."""
    return [l.split()[0] for l in text.splitlines() if re.match(r"^  [a-z]", l)]


class Cli(unittest.TestCase):
    def setUp(self):
        self.q = qt.Instance(prefix="quail-e2e-cli-")
        self.addCleanup(self.q.cleanup)

    def quail(self, *args, check=False, env=None):
        return self.q.run(["quail"] + list(args), check=check, env=env)

    def test_help_lists_every_command_as_quail_8_does(self):
        r = self.quail("--help")
        self.assertEqual(r.returncode, 0)
        listed = help_commands(r.out)
        with open(MAN) as f:
            man = f.read()
        sections = re.findall(r"^\.SS (\S+)$", man.split(".SH COMMANDS", 1)[1].split("\n.SH ", 1)[0], re.M)
        self.assertEqual(listed, sections, "quail --help and the COMMANDS of quail(8), in order")
        programs = sorted(n[len("quail-"):] for n in os.listdir(qt.BIN) if n.startswith("quail-"))
        self.assertEqual(sorted(listed), programs, "every quail-<command> built is in quail --help")
        for c in listed:
            self.assertRegex(man.split(".SH DESCRIPTION", 1)[0], r"\.B quail %s\b" % c, "%s in SYNOPSIS" % c)

    def test_every_command_answers_help_and_version_works(self):
        for c in MINE:
            r = self.quail(c, "--help")
            self.assertEqual(r.returncode, 0, (c, r.err))
            self.assertIn("usage:", r.out, c)
            self.assertEqual(r.err, "", c)
        r = self.quail("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.out, r"^quail \S+")

    def test_init_says_what_it_made_and_names_a_missing_option(self):
        r = self.quail("init", "--domain", "example.test", "--root", self.q.root)
        self.assertEqual(r.returncode, 100)
        self.assertIn("--hostname", r.err.splitlines()[0])
        self.assertFalse(os.path.exists(self.q.root))
        r = self.quail("init", "--hostname", "mx.example.test", "--root", self.q.root)
        self.assertEqual(r.returncode, 100)
        self.assertIn("--domain", r.err.splitlines()[0])
        r = self.quail("init", "--hostname", "mx.example.test", "--domain", "example.test", "--root", self.q.root)
        self.assertEqual(r.returncode, 0, r.err)
        self.assertEqual(len(r.out.splitlines()), 1)
        self.assertIn("Created a quail root in %s" % self.q.root, r.out)
        self.assertIn("user add", r.out)
        self.assertIn(" up ", r.out)

    def test_root_after_the_command_and_one_line_successes(self):
        self.q.init()
        env = {"QUAIL_ROOT": "/nonexistent"}
        r = self.q.run(["quail", "user", "add", "--root", self.q.root, "alice@example.test"],
                       input="pw-123456\n", env=env)
        self.assertEqual(r.out, "User alice@example.test added; mail goes to %s/Maildir/.\n"
                         % self.q.home("alice@example.test"))
        for verb, text in (("passwd", "Password of alice@example.test changed.\n"),
                           ("disable", "User alice@example.test disabled: its mail and its logins are refused.\n"),
                           ("enable", "User alice@example.test enabled.\n")):
            r = self.q.run(["quail", "user", verb, "alice@example.test", "--root=" + self.q.root],
                           input="pw-654321\n", env=env)
            self.assertEqual(r.out, text)
        self.assertEqual(self.q.run(["quail", "user", "list", "-v", "--root", self.q.root], env=env).out,
                         "alice@example.test enabled\n")
        self.assertEqual(self.q.run(["quail", "check", "--root", self.q.root], env=env).out,
                         "The queue is consistent: no problem found.\n")
        self.assertEqual(self.q.run(["quail", "queue", "--root", self.q.root], env=env).out, "The queue is empty.\n")
        r = self.q.run(["quail", "user", "del", "alice@example.test", "--root", self.q.root], env=env)
        self.assertIn("User alice@example.test deleted", r.out)

    def test_a_missing_root_is_explained(self):
        for args, env in ((["--root", "/nonexistent/quail", "queue"], None),
                          (["queue", "--root", "/nonexistent/quail"], None),
                          (["user", "list"], {"QUAIL_ROOT": "/nonexistent/quail"})):
            r = self.quail(*args, env=env)
            self.assertEqual(r.returncode, 100, args)
            self.assertIn("/nonexistent/quail", r.err)
            for word in ("--root", "QUAIL_ROOT", "quail init"):
                self.assertIn(word, r.err, args)

    def test_sendmail_bv_says_how_each_address_is_delivered(self):
        self.q.init("mx.example.test", ["example.test"])
        self.q.add_user("alice@example.test")
        qmail = os.path.join(self.q.home("alice@example.test"), ".qmail-lists")
        with open(qmail, "w") as f:
            f.write("./Maildir/\n")
        with open(self.q.path("control", "aliases"), "w") as f:
            f.write("sales: alice@example.test, bob@remote.test\n")
        self.q.quail("aliases")
        r = self.q.run(["sendmail", "-bv", "alice@example.test", "alice-lists@example.test", "sales@example.test",
                        "bob@remote.test"])
        lines = r.out.splitlines()
        self.assertEqual(len(lines), 4, r.out)
        self.assertIn("local virtual user alice@example.test, delivered to", lines[0])
        self.assertIn("extension lists, delivered as %s says" % qmail, lines[1])
        self.assertIn("alias sales, delivered to alice@example.test, bob@remote.test", lines[2])
        self.assertIn("remote, sent over SMTP to the mail exchangers of remote.test", lines[3])
        r = self.q.run(["sendmail", "-bv", "nobody@example.test"], check=False)
        self.assertEqual(r.returncode, 100)
        self.assertIn("no such local address", r.out)
        self.assertEqual(self.q.queue_entries("todo"), [])

    def test_sendmail_on_a_terminal_prints_sentences(self):
        self.q.init()
        master, slave = pty.openpty()
        try:
            p = subprocess.run([qt.bin_path("sendmail"), "a@@b.test"], input=b"Subject: x\n\nhi\n",
                               stdout=subprocess.PIPE, stderr=slave, env=self.q.env(), timeout=30)
            os.close(slave)
            slave = None
            out = b""
            while True:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
        finally:
            if slave is not None:
                os.close(slave)
            os.close(master)
        text = out.decode()
        self.assertNotEqual(p.returncode, 0)
        self.assertTrue(text.startswith("sendmail: "), text)
        self.assertNotIn("prog=", text)
        self.assertNotIn("level=", text)
        # Not a terminal (a pipe, a log file): logfmt, as before.
        r = self.q.run(["sendmail", "a@@b.test"], input=b"Subject: x\n\nhi\n", check=False)
        self.assertIn("prog=sendmail", r.err)


if __name__ == "__main__":
    unittest.main()
