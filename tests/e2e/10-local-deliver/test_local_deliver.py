"""local-deliver end to end: a root made by hand (no quail init), a queue file
with a 56-byte header, and local-deliver run the way queue-send runs it, fd 0
positioned at the message. Covers every .qmail line type, extensions and
-default, .forward, aliases (quail-aliases), loop detection, temporary failures
and the one-line report / logfmt contract. See man/local-deliver.8."""
import os
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import quailtest as qt  # noqa: E402

DOMAIN = "example.test"
HEADER_SIZE = 56


def cdb_hash(key):
    h = 5381
    for c in key:
        h = ((h << 5) + h) ^ c
        h &= 0xFFFFFFFF
    return h


def write_cdb(path, records):
    """A cdb file (D. J. Bernstein's format) of (key bytes, value bytes) records."""
    body = bytearray()
    slots = [[] for _ in range(256)]
    pos = 2048
    for k, v in records:
        h = cdb_hash(k)
        slots[h & 255].append((h, pos))
        rec = struct.pack("<II", len(k), len(v)) + k + v
        body += rec
        pos += len(rec)
    head = bytearray()
    tables = bytearray()
    for entries in slots:
        n = len(entries) * 2
        table = [(0, 0)] * n
        for h, p in entries:
            i = (h >> 8) % n
            while table[i][1]:
                i = (i + 1) % n
            table[i] = (h, p)
        head += struct.pack("<II", pos + len(tables), n)
        for h, p in table:
            tables += struct.pack("<II", h, p)
    with open(path, "wb") as f:
        f.write(head + body + tables)


def read(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


def env_file(path):
    """NAME=value lines of an `env` dump (multi-line values keep their first line)."""
    return dict(line.split("=", 1) for line in read(path, "r").split("\n") if "=" in line)


def make_message(subject="test", body=b"hello\n", extra=b""):
    return (b"Received: (quail-queue 1 invoked by uid 0); Thu, 01 Jan 2026 00:00:00 +0000\n"
            b"From: <bob@example.org>\nTo: <alice@example.test>\nSubject: " + subject.encode() +
            b"\nMessage-ID: <t@quail.test>\n" + extra + b"\n" + body)


class Root:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="quail-ld-e2e-")
        self.path = os.path.join(self.tmp, "root")
        for d in ("control", "users", "mail/postmaster/Maildir/tmp", "mail/postmaster/Maildir/new",
                  "mail/postmaster/Maildir/cur", "queue/tmp", "queue/todo", "queue/mess", "queue/stat",
                  "queue/lock"):
            os.makedirs(os.path.join(self.path, d))
        self.write("control/me", "mx.example.test\n")
        self.write("control/virtualdomains", DOMAIN + "\n")
        self.write("control/locals", "other.test\n")
        self.users = {}
        for u in ("alice", "bob"):
            self.add_user(u)

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, rel, text, mode=None):
        p = os.path.join(self.path, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        if mode is not None:
            os.chmod(p, mode)
        return p

    def add_user(self, user, value="$argon2id$fake", maildir=True):
        self.users["%s@%s" % (user, DOMAIN)] = value
        write_cdb(os.path.join(self.path, "users/users.cdb"),
                  [(k.encode(), v.encode()) for k, v in self.users.items()])
        home = self.home(user)
        os.makedirs(home, exist_ok=True)
        if maildir:
            for sub in ("tmp", "new", "cur"):
                os.makedirs(os.path.join(home, "Maildir", sub), exist_ok=True)

    def home(self, user):
        return os.path.join(self.path, "mail", DOMAIN, user)

    def maildir(self, user, folder="Maildir", sub="new"):
        d = os.path.join(self.home(user), folder, sub)
        out = []
        for n in sorted(os.listdir(d)):
            with open(os.path.join(d, n), "rb") as f:
                out.append(f.read())
        return out

    def deliver(self, recipient, message, sender="bob@example.org", dlv="7", pipe=False, trailer=b"Fjunk\0\0"):
        """Run local-deliver as queue-send does; returns (code, report line, log records)."""
        qfile = os.path.join(self.tmp, "queuefile")
        with open(qfile, "wb") as f:
            f.write(b"QUAIL-QUEUE 1 %020d %020d\n" % (len(message), 0))
            f.write(message + trailer)
        env = dict(os.environ, QUAIL_ROOT=self.path)
        argv = [qt.bin_path("local-deliver"), dlv, str(len(message)), sender, recipient]
        if pipe:
            p = subprocess.run(argv, input=message + trailer, capture_output=True, env=env, timeout=60)
        else:
            with open(qfile, "rb") as f:
                f.seek(HEADER_SIZE)
                p = subprocess.run(argv, stdin=f, capture_output=True, env=env, timeout=60)
        out = p.stdout.decode()
        # Only local-deliver's own lines: a forward's queue-inject logs to the same fd 2.
        logs = [qt.parse_logfmt(line) for line in p.stderr.decode().splitlines() if line.strip()]
        logs = [rec for rec in logs if rec.get("prog") == "local-deliver"]
        return p.returncode, out, logs

    def queued(self):
        """(sender, recipients, message) of every file in queue/todo."""
        out = []
        d = os.path.join(self.path, "queue/todo")
        for n in sorted(os.listdir(d)):
            with open(os.path.join(d, n), "rb") as f:
                data = f.read()
            length = int(data[14:34])
            msg = data[HEADER_SIZE:HEADER_SIZE + length]
            records = data[HEADER_SIZE + length:].split(b"\0")
            sender = [r[1:].decode() for r in records if r.startswith(b"F")][0]
            rcpts = [r[1:].decode() for r in records if r.startswith(b"T")]
            out.append((sender, rcpts, msg))
        return out


class LocalDeliverTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        qt.require("local-deliver", "queue-inject", "quail-aliases")

    def setUp(self):
        self.r = Root()
        self.addCleanup(self.r.cleanup)

    def assertReport(self, result, code, dsn, event):
        rc, out, logs = result
        self.assertEqual(rc, code, out)
        self.assertTrue(out.endswith("(#%s)\n" % dsn), out)
        self.assertEqual(out.count("\n"), 1, out)
        self.assertEqual(len(logs), 1, logs)
        self.assertEqual(logs[0]["prog"], "local-deliver")
        self.assertEqual(logs[0]["dlv"], "7")
        self.assertEqual(logs[0]["event"], event)

    # ------------------------------------------------------------ basics
    def test_default_delivery_to_maildir(self):
        msg = make_message()
        res = self.r.deliver("alice@example.test", msg)
        self.assertReport(res, 0, "2.0.0", "delivered")
        self.assertEqual(res[2][0]["to"], "alice@example.test")
        got = self.r.maildir("alice")
        self.assertEqual(got, [b"Return-Path: <bob@example.org>\nDelivered-To: alice@example.test\n" + msg])
        self.assertEqual(os.listdir(os.path.join(self.r.home("alice"), "Maildir/tmp")), [])

    def test_message_from_a_pipe_and_null_sender(self):
        msg = make_message()
        res = self.r.deliver("Alice@Example.Test", msg, sender="", pipe=True)
        self.assertReport(res, 0, "2.0.0", "delivered")
        got = self.r.maildir("alice")[0]
        self.assertTrue(got.startswith(b"Return-Path: <>\nDelivered-To: Alice@example.test\n"), got)
        self.assertTrue(got.endswith(msg))

    def test_unknown_user_and_foreign_domain_fail(self):
        self.assertReport(self.r.deliver("nobody@example.test", make_message()), 100, "5.1.1", "failed")
        self.assertReport(self.r.deliver("alice@elsewhere.test", make_message()), 100, "5.1.2", "failed")
        self.assertReport(self.r.deliver("alice-ext@example.test", make_message()), 100, "5.1.1", "failed")

    def test_disabled_user_does_not_exist(self):
        self.r.add_user("carol", value="!$argon2id$fake")
        self.assertReport(self.r.deliver("carol@example.test", make_message()), 100, "5.1.1", "failed")

    def test_postmaster_without_user_or_alias(self):
        res = self.r.deliver("postmaster@other.test", make_message())
        self.assertReport(res, 0, "2.0.0", "delivered")
        self.assertEqual(len(os.listdir(os.path.join(self.r.path, "mail/postmaster/Maildir/new"))), 1)

    def test_loop_is_refused(self):
        msg = make_message(extra=b"delivered-to:   ALICE@example.test  \n")
        res = self.r.deliver("alice@example.test", msg)
        self.assertReport(res, 100, "5.4.6", "failed")
        self.assertIn("looping", res[1])
        self.assertEqual(self.r.maildir("alice"), [])
        # A Delivered-To in the body, or for someone else, is no loop.
        body = b"Delivered-To: alice@example.test\n"
        res = self.r.deliver("alice@example.test", make_message(body=body, extra=b"Delivered-To: x@y.test\n"))
        self.assertReport(res, 0, "2.0.0", "delivered")

    def test_missing_maildir_is_temporary(self):
        self.r.add_user("dave", maildir=False)
        res = self.r.deliver("dave@example.test", make_message())
        self.assertReport(res, 111, "4.2.1", "deferred")
        self.assertFalse(os.path.exists(os.path.join(self.r.home("dave"), "Maildir")))

    def test_message_length_is_respected(self):
        msg = make_message()
        self.r.deliver("alice@example.test", msg, trailer=b"EXTRA BYTES THAT ARE THE ENVELOPE\n")
        self.assertTrue(self.r.maildir("alice")[0].endswith(msg))

    # ------------------------------------------------------------ .qmail
    def test_every_qmail_line_type(self):
        home = self.r.home("alice")
        os.makedirs(os.path.join(home, "Other/tmp"))
        os.makedirs(os.path.join(home, "Other/new"))
        self.r.write("mail/example.test/alice/.qmail-lists",
                     "# all line types\n"
                     "./Other/\n"
                     "./mbox\n"
                     "|env > prog.env; cat > prog.msg\n"
                     "&carol@example.org\n"
                     "dave@example.org\n")
        msg = make_message(body=b"From the start\nFromage\n>From quoted\nno newline at end")
        res = self.r.deliver("alice-lists@example.test", msg)
        self.assertReport(res, 0, "2.0.0", "delivered")
        self.assertIn(".qmail-lists", res[1])
        dt = b"Delivered-To: alice-lists@example.test\n"
        rp = b"Return-Path: <bob@example.org>\n"
        self.assertEqual(self.r.maildir("alice", "Other"), [rp + dt + msg])
        with open(os.path.join(home, "mbox"), "rb") as f:
            mbox = f.read()
        first, rest = mbox.split(b"\n", 1)
        self.assertTrue(first.startswith(b"From bob@example.org "), first)
        self.assertEqual(rest, rp + dt + msg.replace(b"\nFrom the", b"\n>From the") + b"\n\n")
        with open(os.path.join(home, "prog.msg"), "rb") as f:
            self.assertEqual(f.read(), msg)  # exactly the message, no added lines
        env = env_file(os.path.join(home, "prog.env"))
        self.assertEqual(env["RECIPIENT"], "alice-lists@example.test")
        self.assertEqual(env["LOCAL"], "alice-lists")
        self.assertEqual(env["EXT"], "lists")
        self.assertEqual(env["HOST"], "example.test")
        self.assertEqual(env["HOST2"], "example")
        self.assertEqual(env["SENDER"], "bob@example.org")
        self.assertEqual(env["NEWSENDER"], "bob@example.org")
        self.assertEqual(env["HOME"], home)
        self.assertEqual(env["USER"], "alice@example.test")
        self.assertEqual(env["DTLINE"], "Delivered-To: alice-lists@example.test")
        self.assertNotIn("DEFAULT", env)
        queued = self.r.queued()
        self.assertEqual(len(queued), 1)  # one injection for every forward line
        sender, rcpts, fwd = queued[0]
        self.assertEqual(sender, "bob@example.org")
        self.assertEqual(rcpts, ["carol@example.org", "dave@example.org"])
        self.assertIn(dt + msg, fwd)
        self.assertNotIn(rp, fwd)

    def test_default_file_sets_default_and_ext_vars(self):
        self.r.write("mail/example.test/alice/.qmail-team-default", "|env > team.env\n")
        res = self.r.deliver("alice-team-Sub-x@example.test", make_message())
        self.assertReport(res, 0, "2.0.0", "delivered")
        env = env_file(os.path.join(self.r.home("alice"), "team.env"))
        self.assertEqual(env["DEFAULT"], "Sub-x")
        self.assertEqual(env["EXT"], "team-Sub-x")
        self.assertEqual(env["EXT2"], "Sub-x")
        self.assertEqual(env["EXT3"], "x")
        self.assertEqual(env["EXT4"], "")

    def test_owner_file_sets_newsender(self):
        self.r.write("mail/example.test/alice/.qmail-team", "|echo $NEWSENDER > ns\n&carol@example.org\n")
        self.r.write("mail/example.test/alice/.qmail-team-owner", "./Maildir/\n")
        self.assertReport(self.r.deliver("alice-team@example.test", make_message()), 0, "2.0.0", "delivered")
        with open(os.path.join(self.r.home("alice"), "ns")) as f:
            self.assertEqual(f.read().strip(), "alice-team-owner@example.test")
        self.assertEqual(self.r.queued()[0][0], "alice-team-owner@example.test")

    def test_program_exit_codes(self):
        home = self.r.home("alice")
        cases = [("exit 0", 0, "2.0.0", "delivered"), ("echo no such list; exit 100", 100, "5.3.0", "failed"),
                 ("exit 77", 100, "5.3.0", "failed"), ("echo try later; exit 111", 111, "4.3.0", "deferred"),
                 ("exit 3", 111, "4.3.0", "deferred"), ("kill -9 $$", 111, "4.3.0", "deferred"),
                 ("echo 'over quota (#4.2.2)'; exit 75", 111, "4.2.2", "deferred"),
                 ("echo 'gone (#5.1.1)'; exit 75", 111, "4.3.0", "deferred"),
                 ("echo line one; echo line two >&2; exit 100", 100, "5.3.0", "failed")]
        for cmd, code, dsn, event in cases:
            with self.subTest(cmd=cmd):
                self.r.write("mail/example.test/alice/.qmail-p", "|%s\n./Maildir/\n" % cmd)
                res = self.r.deliver("alice-p@example.test", make_message())
                self.assertReport(res, code, dsn, event)
                if "echo" in cmd:
                    self.assertIn(cmd.split("echo ")[1].split(";")[0].strip("'"), res[1])
        # Only the exit-0 case went on to the Maildir line.
        self.assertEqual(len(os.listdir(os.path.join(home, "Maildir/new"))), 1)

    def test_exit_99_stops_later_lines(self):
        self.r.write("mail/example.test/alice/.qmail-stop", "&carol@example.org\n|exit 99\n./Maildir/\n")
        res = self.r.deliver("alice-stop@example.test", make_message())
        self.assertReport(res, 0, "2.0.0", "delivered")
        self.assertEqual(self.r.maildir("alice"), [])
        self.assertEqual(len(self.r.queued()), 1)  # the forward before the stop is still sent

    def test_empty_qmail_is_default_comment_only_is_error(self):
        self.r.write("mail/example.test/alice/.qmail", "")
        self.assertReport(self.r.deliver("alice@example.test", make_message()), 0, "2.0.0", "delivered")
        self.assertEqual(len(self.r.maildir("alice")), 1)
        self.r.write("mail/example.test/alice/.qmail", "# nothing\n")
        res = self.r.deliver("alice@example.test", make_message())
        self.assertReport(res, 111, "4.3.5", "deferred")
        self.assertIn("no delivery instructions", res[1])

    def test_malformed_or_writable_qmail_defers(self):
        self.r.write("mail/example.test/alice/.qmail", "./Maildir/\n!bad line\n")
        res = self.r.deliver("alice@example.test", make_message())
        self.assertReport(res, 111, "4.3.5", "deferred")
        self.assertIn(".qmail:2:", res[1])
        self.r.write("mail/example.test/alice/.qmail", "./Maildir/\n", mode=0o666)
        self.assertReport(self.r.deliver("alice@example.test", make_message()), 111, "4.7.0", "deferred")
        self.assertEqual(self.r.maildir("alice"), [])

    def test_failed_line_defers_and_retry_repeats_earlier_lines(self):
        self.r.write("mail/example.test/alice/.qmail", "./Maildir/\n./Missing/\n")
        self.assertReport(self.r.deliver("alice@example.test", make_message()), 111, "4.2.1", "deferred")
        self.assertReport(self.r.deliver("alice@example.test", make_message()), 111, "4.2.1", "deferred")
        self.assertEqual(len(self.r.maildir("alice")), 2)  # at least once: documented duplicates

    # ------------------------------------------------------------ .forward and aliases
    def test_dot_forward(self):
        self.r.write("mail/example.test/alice/.forward",
                     "# sendmail syntax\n\\alice, carol@example.org\n\"|cat > fwd.msg\"\n")
        msg = make_message()
        res = self.r.deliver("alice@example.test", msg)
        self.assertReport(res, 0, "2.0.0", "delivered")
        self.assertEqual(len(self.r.maildir("alice")), 1)
        with open(os.path.join(self.r.home("alice"), "fwd.msg"), "rb") as f:
            self.assertEqual(f.read(), msg)
        (sender, rcpts, _), = self.r.queued()
        self.assertEqual((sender, rcpts), ("bob@example.org", ["carol@example.org"]))

    def test_aliases(self):
        mbox = os.path.join(self.r.tmp, "root-mbox")
        self.r.write("control/aliases", "# aliases\nroot: bob,\n  carol@example.org\n"
                     "archive@example.test: %s, \\alice\n" % mbox)
        p = subprocess.run([qt.bin_path("quail-aliases"), "--root", self.r.path], capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertReport(self.r.deliver("root@other.test", make_message()), 0, "2.0.0", "delivered")
        (sender, rcpts, _), = self.r.queued()
        self.assertEqual(rcpts, ["bob@other.test", "carol@example.org"])
        self.assertReport(self.r.deliver("archive@example.test", make_message()), 0, "2.0.0", "delivered")
        self.assertTrue(os.path.getsize(mbox) > 0)
        self.assertEqual(len(self.r.maildir("alice")), 1)
        self.assertReport(self.r.deliver("archive@other.test", make_message()), 100, "5.1.1", "failed")

    def test_quail_aliases_refuses_a_bad_file_and_keeps_the_table(self):
        self.r.write("control/aliases", "root: bob\n")
        aliases = [qt.bin_path("quail-aliases"), "--root", self.r.path]
        self.assertEqual(subprocess.run(aliases, capture_output=True, timeout=30).returncode, 0)
        table = os.path.join(self.r.path, "users/aliases.cdb")
        before = read(table)
        self.r.write("control/aliases", "root: bob\nstaff: :include:/etc/staff\n")
        p = subprocess.run(aliases, capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 100)
        self.assertIn(b"aliases:2:", p.stderr)
        self.assertEqual(read(table), before)
        self.assertEqual(subprocess.run(aliases + ["extra"], capture_output=True, timeout=30).returncode, 100)

    # ------------------------------------------------------------ a full disk
    def test_full_disk_defers_and_leaves_nothing(self):
        md = os.path.join(self.r.home("alice"), "Maildir")
        with qt.tmpfs(md, size="64k"):
            for sub in ("tmp", "new", "cur"):
                os.makedirs(os.path.join(md, sub))
            res = self.r.deliver("alice@example.test", make_message(body=b"x" * 200000))
            self.assertReport(res, 111, "4.3.0", "deferred")
            self.assertEqual(os.listdir(os.path.join(md, "new")), [])
            self.assertEqual(os.listdir(os.path.join(md, "tmp")), [])


if __name__ == "__main__":
    unittest.main()
