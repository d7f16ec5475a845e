#!/usr/bin/python3
"""00-front-end: the administrator's front end, `quail <command>` (man/quail.8).

every command answers --help with its usage; init refuses a non-empty root; user add/list/passwd/del/disable and a lost-update
check under concurrency; up refuses a malformed control file naming file and line,
is idempotent, replaces a stale pid file after kill -9; down stops everything and
exits 0 when nothing runs; queue lists a message; check finds debris, orphan
journals and corrupt files and --repair fixes them.
Binaries from QUAIL_BIN (default <repo>/build/bin). Every root is a temp dir and
every test ends with `quail down` (Instance.cleanup), also on failure.
"""
import sys
sys.dont_write_bytecode = True
import os
import signal
import socket
import stat
import struct
import subprocess
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import quailtest as qt  # noqa: E402

qt.require("quail", "quail-init", "quail-user", "quail-up", "quail-down", "quail-status", "quail-queue",
           "quail-check", "queue-inject")


def cdb_records(path):
    """Every (key, value) of a cdb file, in file order (djb's format: a 2048-byte
    table of pointers, then records klen, dlen, key, data up to the first hash table)."""
    with open(path, "rb") as f:
        data = f.read()
    end = min(struct.unpack_from("<I", data, 8 * i)[0] for i in range(256))
    pos, out = 2048, []
    while pos < end:
        klen, dlen = struct.unpack_from("<II", data, pos)
        pos += 8
        out.append((data[pos:pos + klen], data[pos + klen:pos + klen + dlen]))
        pos += klen + dlen
    return out


def dead_pid():
    """A pid no process has now (for debris whose writer is gone)."""
    for pid in range(4000000, 3000000, -7):
        if not os.path.exists("/proc/%d" % pid):
            return pid
    raise AssertionError("no free pid found")


class FrontEndCase(unittest.TestCase):
    def setUp(self):
        self.q = qt.Instance(prefix="quail-e2e-fe-")
        self.addCleanup(self.q.cleanup)  # runs quail down, then removes the root

    def init(self):
        self.q.init("mx.example.test", ["example.test", "other.test"])

    def need(self, *programs):
        gone = qt.missing(*programs)
        if gone:
            self.skipTest("program(s) not built: %s" % ", ".join(gone))

    def status(self):
        """(exit code, {service: [pid or "-", state]}) from `quail status`'s
        "<name> <state> pid=<pid> listen=... up=... restarts=..." lines."""
        r = self.q.quail("status", check=False)
        out = {}
        for line in r.out.splitlines():
            words = line.split()
            fields = dict(w.split("=", 1) for w in words[2:])
            out[words[0]] = [fields["pid"], words[1]]
        return r.returncode, out


class TestInit(FrontEndCase):
    def test_init_makes_the_layout(self):
        self.init()
        for d in ("bin", "control", "users", "mail", "queue", "log", "run", "queue/todo", "queue/mess",
                  "queue/tmp", "queue/stat", "mail/postmaster/Maildir/new"):
            self.assertTrue(os.path.isdir(self.q.path(d)), d)
        self.assertTrue(os.path.islink(self.q.path("bin", "queue-inject")))
        self.assertEqual(os.path.realpath(self.q.path("bin", "queue-inject")),
                         os.path.realpath(qt.bin_path("queue-inject")))
        with open(self.q.path("control", "me")) as f:
            self.assertEqual(f.read(), "mx.example.test\n")
        with open(self.q.path("control", "virtualdomains")) as f:
            self.assertEqual(f.read().split(), ["example.test", "other.test"])
        with open(self.q.path("control", "rules.smtp")) as f:
            rules = f.read().splitlines()
        self.assertIn('127.0.0.1:allow,RELAYCLIENT="",PLAINTEXTLOGIN=""', rules)
        self.assertIn('::1:allow,RELAYCLIENT="",PLAINTEXTLOGIN=""', rules)
        self.assertEqual(rules[-1], ":allow")
        # TLS works out of the box: a self-signed pair, the key private to its owner.
        self.assertIn(b"BEGIN CERTIFICATE", open(self.q.path("control", "tls", "cert.pem"), "rb").read())
        self.assertEqual(os.stat(self.q.path("control", "tls", "key.pem")).st_mode & 0o777, 0o600)
        self.assertEqual(cdb_records(self.q.path("users", "users.cdb")), [])
        self.assertEqual(self.q.check().returncode, 0)

    def test_init_refuses_a_non_empty_root(self):
        os.makedirs(self.q.root)
        with open(os.path.join(self.q.root, "precious"), "w") as f:
            f.write("keep me\n")
        r = self.q.quail("init", "--hostname", "mx.example.test", "--domain", "example.test", check=False)
        self.assertEqual(r.returncode, 100, r.err)
        self.assertIn("not empty", r.err)
        self.assertEqual(os.listdir(self.q.root), ["precious"])

    def test_init_refuses_an_initialised_root(self):
        self.init()
        r = self.q.quail("init", "--hostname", "mx.example.test", "--domain", "example.test", check=False)
        self.assertEqual(r.returncode, 100)

    def test_unknown_command_is_a_usage_error(self):
        r = self.q.quail("frobnicate", check=False)
        self.assertEqual(r.returncode, 100)
        self.assertIn("usage", r.err)


class TestHelp(FrontEndCase):
    def test_every_command_answers_help_with_its_usage(self):
        # Every quail-<command> built, whether or not quail --help lists it; no root
        # exists, so an answer that opened the root would fail.
        commands = sorted(n[len("quail-"):] for n in os.listdir(qt.BIN) if n.startswith("quail-"))
        self.assertIn("up", commands)
        for c in commands:
            r = self.q.quail(c, "--help", check=False)
            self.assertEqual((c, r.returncode, r.err), (c, 0, ""))
            self.assertTrue(r.out.startswith("usage: quail " + c), (c, r.out))
        self.assertFalse(os.path.exists(self.q.root))
        r = self.q.quail("up", "--smtp", "127.0.0.1:1", "--help", check=False)
        self.assertEqual(r.returncode, 0, r.err)
        self.assertIn("host name", r.out)


class TestUser(FrontEndCase):
    def hashes(self):
        return dict(cdb_records(self.q.path("users", "users.cdb")))

    def test_add_list_passwd_del(self):
        self.init()
        self.q.quail("user", "add", "Bob@Example.TEST", input="pw-bob\n")
        self.q.quail("user", "add", "alice@example.test", input="pw-alice\n")
        self.q.quail("user", "add", "carol@other.test", input="pw-carol")  # no final newline
        self.assertEqual(self.q.quail("user", "list").out.splitlines(),
                         ["alice@example.test", "bob@example.test", "carol@other.test"])
        for user, domain in (("alice", "example.test"), ("bob", "example.test"), ("carol", "other.test")):
            for sub in ("tmp", "new", "cur"):
                self.assertTrue(os.path.isdir(self.q.path("mail", domain, user, "Maildir", sub)))
        before = self.hashes()[b"alice@example.test"]
        self.assertTrue(before.startswith(b"$argon2id$"))
        self.assertNotIn(b"pw-alice", open(self.q.path("users", "users.cdb"), "rb").read())

        r = self.q.quail("user", "add", "alice@example.test", input="again\n", check=False)
        self.assertEqual(r.returncode, 1, r.err)
        r = self.q.quail("user", "add", "dave@elsewhere.test", input="pw\n", check=False)
        self.assertEqual(r.returncode, 100, r.err)
        r = self.q.quail("user", "add", "eve@example.test", input="\n", check=False)
        self.assertEqual(r.returncode, 100, r.err)
        r = self.q.quail("user", "add", "a/b@example.test", input="pw\n", check=False)
        self.assertEqual(r.returncode, 100, r.err)

        self.q.quail("user", "passwd", "alice@example.test", input="new-pw\n")
        after = self.hashes()[b"alice@example.test"]
        self.assertTrue(after.startswith(b"$argon2id$"))
        self.assertNotEqual(before, after)
        r = self.q.quail("user", "passwd", "nobody@example.test", input="x\n", check=False)
        self.assertEqual(r.returncode, 1)

        self.q.quail("user", "disable", "bob@example.test")
        self.assertTrue(self.hashes()[b"bob@example.test"].startswith(b"!$argon2id$"))
        self.assertIn("bob@example.test disabled", self.q.quail("user", "list", "-v").out)
        self.q.quail("user", "enable", "bob@example.test")
        self.assertTrue(self.hashes()[b"bob@example.test"].startswith(b"$argon2id$"))

        self.q.quail("user", "del", "alice@example.test")
        self.assertEqual(self.q.quail("user", "list").out.splitlines(), ["bob@example.test", "carol@other.test"])
        self.assertTrue(os.path.isdir(self.q.path("mail", "example.test", "alice", "Maildir")))  # mail kept
        r = self.q.quail("user", "del", "alice@example.test", check=False)
        self.assertEqual(r.returncode, 1)

    def test_concurrent_adds_lose_no_update(self):
        self.init()
        names = ["u%d@example.test" % i for i in range(6)]
        procs = [subprocess.Popen([qt.bin_path("quail"), "--root", self.q.root, "user", "add", n],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for n in names]
        for p in procs:
            p.communicate(b"secret\n", timeout=120)
            self.assertEqual(p.returncode, 0)
        self.assertEqual(self.q.quail("user", "list").out.splitlines(), sorted(names))


class TestUpDown(FrontEndCase):
    def test_up_refuses_a_malformed_control_file_naming_file_and_line(self):
        self.need("queue-send")
        self.init()
        self.q.write_control("rcpthosts", "example.test\nnot a domain!\n")
        r = self.q.up(check=False)
        self.assertEqual(r.returncode, 100, r.err)
        self.assertIn("control/rcpthosts:2", r.err)
        self.assertEqual([n for n in os.listdir(self.q.path("run")) if n.endswith(".pid")], [])
        self.assertEqual(self.q.pids("queue-send"), [])
        self.q.write_control("rcpthosts", "example.test\n")
        self.q.write_control("concurrencyremote", "lots\n")
        r = self.q.up(check=False)
        self.assertEqual(r.returncode, 100, r.err)
        self.assertIn("control/concurrencyremote:1", r.err)

    def test_up_refuses_a_listener_whose_program_is_missing(self):
        self.need("queue-send")
        if not qt.missing("pop3d"):
            self.skipTest("pop3d is built: the refusal cannot be shown")
        self.init()
        r = self.q.up(check=False, pop3="127.0.0.1:%d" % qt.free_port())
        self.assertEqual(r.returncode, 100, r.err)
        self.assertIn("quail up: --pop3 needs pop3d, which is not installed", r.err)
        self.assertEqual(self.q.pids("queue-send"), [])
        self.assertFalse(os.path.exists(self.q.path("control", "listeners")), "a refused flag is not remembered")

    def test_up_is_idempotent_and_down_stops_everything(self):
        self.need("queue-send", "tcpserver", "smtpd")
        self.init()
        port = qt.free_port()
        self.q.up(smtp="127.0.0.1:%d" % port)
        code, st = self.status()
        self.assertEqual(code, 0)
        self.assertEqual(st["queue-send"][1], "running")
        self.assertEqual(st["smtp"][1], "running")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.settimeout(10)
            self.assertTrue(s.recv(512).startswith(b"220 "))

        self.q.up(smtp="127.0.0.1:%d" % port)  # again: nothing new starts
        code, st2 = self.status()
        self.assertEqual(code, 0)
        self.assertEqual(st, st2)
        self.assertEqual(len(self.q.pids("queue-send")), 1)

        r = self.q.quail("down")
        self.assertEqual(r.returncode, 0)
        self.assertEqual([n for n in os.listdir(self.q.path("run")) if n.endswith(".pid")], [])
        qt.wait_for(lambda: not self.q.pids("queue-send") and not self.q.pids("tcpserver"), 10, "services gone")
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        r = self.q.quail("down")  # nothing runs: still 0
        self.assertEqual(r.returncode, 0)
        code, st = self.status()
        self.assertEqual(code, 1)
        self.assertEqual(st["queue-send"], ["-", "stopped"])

    def test_kill_9_leaves_a_stale_pid_file_that_up_replaces(self):
        self.need("queue-send")
        self.init()
        self.q.up()
        with open(self.q.path("run", "queue-send.pid")) as f:
            old = int(f.read())
        # Its supervise first, or it would restart queue-send (07-services covers that).
        with open(self.q.path("run", "queue-send.supervise.pid")) as f:
            os.kill(int(f.read()), signal.SIGKILL)
        os.kill(old, signal.SIGKILL)
        qt.wait_for(lambda: old not in self.q.pids("queue-send"), 10, "queue-send to die")
        code, st = self.status()
        self.assertEqual(code, 1)
        self.assertEqual(st["queue-send"], ["-", "stopped"])
        self.q.up()
        with open(self.q.path("run", "queue-send.pid")) as f:
            new = int(f.read())
        self.assertNotEqual(new, old)
        self.assertEqual(self.q.pids("queue-send"), [new])
        code, st = self.status()
        self.assertEqual(code, 0)
        self.assertEqual(st["queue-send"], [str(new), "running"])

    def test_a_pid_reused_by_another_program_is_not_signalled(self):
        self.need("queue-send")
        self.init()
        other = subprocess.Popen(["sleep", "60"])
        self.addCleanup(other.kill)
        with open(self.q.path("run", "queue-send.pid"), "w") as f:
            f.write("%d\n" % other.pid)
        self.assertEqual(self.q.quail("down").returncode, 0)
        self.assertIsNone(other.poll())  # still alive: not ours, so not signalled
        self.assertFalse(os.path.exists(self.q.path("run", "queue-send.pid")))
        self.q.up()
        self.assertIsNone(other.poll())
        self.assertEqual(self.status()[0], 0)


class TestQueueAndCheck(FrontEndCase):
    def inject(self, *rcpts):
        code, err = self.q.queue_inject(qt.make_message(1), qt.envelope("bob@example.test", *rcpts))
        self.assertEqual(code, 0, err)
        return self.q.queue_entries("todo")[-1]

    def test_queue_lists_a_message_and_its_recipients(self):
        self.init()
        self.assertEqual(self.q.quail("queue").out, "The queue is empty.\n")
        qid = qt.queue_file_id(self.q.path("queue", "todo", self.inject("alice@example.test", "carol@remote.test")))
        lines = self.q.quail("queue").out.splitlines()
        self.assertEqual(lines[0].split()[0], qid)
        self.assertIn("<bob@example.test>", lines[0])
        self.assertEqual(lines[1].split()[0], "<alice@example.test>")
        self.assertIn("waiting for queue-send", lines[1])
        self.assertEqual(lines[2].split()[0], "<carol@remote.test>")
        self.assertEqual(lines[3], "1 message in the queue.")

    def test_check_is_clean_on_a_fresh_queue(self):
        self.init()
        self.inject("alice@example.test")
        r = self.q.check()
        self.assertEqual(r.returncode, 0, r.out)
        self.assertEqual(r.out, "The queue is consistent: no problem found.\n")

    def test_check_reports_debris_and_orphans_and_repair_fixes_them(self):
        self.init()
        qid = self.inject("alice@example.test")
        debris = self.q.path("queue", "tmp", "%d.1700000000000000000" % dead_pid())
        with open(debris, "w") as f:
            f.write("half a message")
        # Writer alive, born now: its age is the birth in its name (queue-layout, invariant 4).
        in_flight = self.q.path("queue", "tmp", "%d.%d" % (os.getpid(), time.time_ns()))
        with open(in_flight, "w") as f:
            f.write("being written")
        orphan = self.q.path("queue", "stat", "987654321")
        with open(orphan, "w") as f:
            f.write("quail-stat 1 1700000000000000000\nD 0\n")
        corrupt = self.q.path("queue", "todo", "55555")
        with open(corrupt, "w") as f:
            f.write("not a queue file")

        r = self.q.check()
        self.assertEqual(r.returncode, 1, r.out)
        out = r.out
        self.assertIn("queue/tmp/" + os.path.basename(debris) + ": debris", out)
        self.assertIn("queue/stat/987654321: orphan", out)
        self.assertIn("queue/todo/55555: does not parse", out)
        self.assertNotIn(os.path.basename(in_flight), out)
        self.assertNotIn("queue/todo/" + qid, out)

        r = self.q.check(repair=True)
        self.assertEqual(r.returncode, 0, r.out)
        self.assertFalse(os.path.exists(debris))
        self.assertFalse(os.path.exists(orphan))
        self.assertFalse(os.path.exists(corrupt))
        self.assertTrue(os.path.exists(self.q.path("queue", "corrupt", "todo.55555")))  # moved, never deleted
        self.assertTrue(os.path.exists(in_flight))
        self.assertEqual(self.q.queue_entries("todo"), [qid])
        r = self.q.check()
        self.assertEqual(r.returncode, 0, r.out)

    def test_check_repairs_a_missing_trigger(self):
        self.init()
        os.unlink(self.q.path("queue", "lock", "trigger"))
        r = self.q.check()
        self.assertEqual(r.returncode, 1)
        self.assertIn("queue/lock/trigger", r.out)
        self.assertEqual(self.q.check(repair=True).returncode, 0)
        self.assertTrue(stat.S_ISFIFO(os.stat(self.q.path("queue", "lock", "trigger")).st_mode))


if __name__ == "__main__":
    unittest.main()
