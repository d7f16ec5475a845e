"""tcpserver -F under `quail up` (issue 13, target 1): smtpd is started once per
listener as a fork server ("smtpd-forks" in ps) and each connection's session is
a fork of it, not an exec.

- each session is a child of the one fork server, which is tcpserver's child;
  each sees its own connection's environment (the port in its connect line);
- the per-address limit counts sessions from the fork server, and a session's
  end frees its place (tcpserver learns of it from the server's report);
- a session that crashes (SIGSEGV) retires its server: the next connection
  comes from a fresh one (a fresh address layout), the sessions of the old one
  go on and it exits after its last;
- the fork server killed (SIGKILL) under open sessions: they go on (a message
  is accepted and delivered), their ends still free their places (tcpserver
  reaps them as a subreaper), and the next connection gets a fresh server;
- under load, sessions killed (SEGV, ABRT, KILL) and the server killed again
  and again: every message acknowledged with 250 is delivered exactly once, no
  permanent refusal, and afterwards every place at the per-address limit is
  free again (no session's end was lost)."""
import os
import random
import signal
import smtplib
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import quailtest as qt  # noqa: E402

ALICE = "alice@example.test"
PERIP = 2


def ppid(pid):
    for line in qt._proc_read(pid, "status").decode().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    return -1


def comm(pid):
    return qt._proc_read(pid, "comm").strip().decode()


class ForkServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        qt.require("quail", "tcpserver", "smtpd", "queue-inject", "queue-send", "local-spawn")
        cls.q = qt.Instance(prefix="quail-forks-")
        try:
            cls.q.init()
            cls.q.add_user(ALICE)
            cls.q.write_control("concurrencyperip", "%d\n" % PERIP)
            cls.port = qt.free_port()
            cls.q.up(smtp="127.0.0.1:%d" % cls.port)
        except Exception:
            cls.q.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()

    def setUp(self):
        # After a test that killed a fork server, connections are exec'd until the
        # next server starts (a second later at the earliest): each test starts
        # once sessions come from a server again.
        def forked():
            c = self.open()
            try:
                return comm(ppid(self.session(c))) == "smtpd-forks"
            finally:
                c.quit()
        qt.wait_for(forked, 15, "a session forked by a fork server")
        qt.wait_for(lambda: not self.q.pids("smtpd"), 10, "that session to end")

    def tearDown(self):
        qt.wait_for(lambda: not self.q.pids("smtpd"), 30, "the test's sessions to end")

    def tcpserver(self):
        return qt.wait_for(lambda: self.q.pids("tcpserver"), 10, "tcpserver")[0]

    def servers(self):
        """Fork servers of this root: smtpd processes named smtpd-forks."""
        return [p for p in qt.processes_under(self.q.root) if comm(p) == "smtpd-forks"]

    def session(self, c):
        """The pid of the smtpd session serving smtplib connection c (its socket's peer)."""
        port = c.sock.getsockname()[1]
        lines = qt.wait_for(lambda: [l for l in self.q.log_lines("smtp") if l.get("prog") == "tcpserver"
                                     and l.get("event") == "connect" and l.get("remote_port") == str(port)],
                            10, "tcpserver's line for the connection from port %d" % port)
        return int(lines[-1]["pid"])  # the last: an earlier test's client may have had the same port

    def open(self):
        c = smtplib.SMTP("127.0.0.1", self.port, timeout=30)
        c.ehlo("client.test")
        return c

    def open_all(self, n):
        """n sessions at once, or None (every one closed) when one is refused."""
        got = []
        try:
            for _ in range(n):
                got.append(self.open())
            return got
        except smtplib.SMTPConnectError:
            for c in got:
                c.close()
            return None

    def send(self, c, n):
        c.sendmail("bob@example.test", [ALICE], qt.make_message(n, to=ALICE).replace(b"\n", b"\r\n"))

    def delivered(self, *numbers):
        got = [qt.test_number(m) for m in self.q.maildir_messages(ALICE)]
        return all(n in got for n in numbers)

    def refused_over_the_limit(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            return qt.recv_line(s).startswith(b"421 ")

    def test_sessions_are_forks_of_one_server_with_their_own_environment(self):
        a, b = self.open(), self.open()
        pa, pb = self.session(a), self.session(b)
        server = ppid(pa)
        self.assertEqual(ppid(pb), server, "both sessions forked by one server")
        self.assertEqual(comm(server), "smtpd-forks")
        self.assertEqual(ppid(server), self.tcpserver(), "the fork server is tcpserver's child")
        self.assertEqual((comm(pa), comm(pb)), ("smtpd", "smtpd"))
        self.assertEqual(os.readlink("/proc/%d/exe" % pa), os.path.realpath(self.q.path("bin", "smtpd")))
        # smtpd's own connect line names its client's port: TCPREMOTEPORT is the session's.
        for c, pid in ((a, pa), (b, pb)):
            port = str(c.sock.getsockname()[1])
            qt.wait_for(lambda: [l for l in self.q.log_lines("smtp") if l.get("prog") == "smtpd"
                                 and l.get("event") == "connect" and l.get("port") == port],
                        10, "smtpd %d's line naming its own client's port %s" % (pid, port))
        self.send(a, 1)
        self.send(b, 2)
        a.quit()
        b.quit()
        qt.wait_for(lambda: self.delivered(1, 2), 30, "both messages delivered")

    def test_the_per_address_limit_counts_forked_sessions_and_frees_their_places(self):
        held = [self.open() for _ in range(PERIP)]
        self.assertTrue(self.refused_over_the_limit(), "a third session from 127.0.0.1 refused with 421")
        for c in held:
            c.quit()
        for round_ in range(3):
            # Each end is reported by the fork server: the places come back.
            qt.wait_for(lambda: not self.q.pids("smtpd"), 10, "the sessions to end")
            again = qt.wait_for(lambda: self.open_all(PERIP), 10, "two places free again")
            for c in again:
                c.quit()

    def test_a_crashed_session_retires_its_fork_server(self):
        victim, survivor = self.open(), self.open()
        pv = self.session(victim)
        self.session(survivor)
        old = ppid(pv)
        os.kill(pv, signal.SIGSEGV)
        qt.wait_for(lambda: [l for l in self.q.log_lines("smtp") if l.get("event") == "fork_server_retired"
                             and l.get("pid") == str(old)], 10, "tcpserver to retire the server")
        victim.close()
        fresh = self.open()
        new = ppid(self.session(fresh))
        self.assertNotEqual(new, old, "the next session comes from a fresh server")
        self.assertEqual(comm(new), "smtpd-forks")
        # The old server forks no more but still holds its session, which goes on.
        self.assertIn(old, self.servers())
        self.send(survivor, 11)
        survivor.quit()
        qt.wait_for(lambda: old not in self.servers(), 10, "the retired server to exit after its last session")
        self.send(fresh, 12)
        fresh.quit()
        qt.wait_for(lambda: self.delivered(11, 12), 30, "both messages delivered")

    def test_a_killed_fork_server_leaves_its_sessions_running_and_counted(self):
        held = [self.open() for _ in range(PERIP)]
        server = ppid(self.session(held[0]))
        os.kill(server, signal.SIGKILL)
        qt.wait_for(lambda: server not in qt.processes_under(self.q.root), 10, "the server to die")
        # Its sessions are tcpserver's now, and still count against the limit.
        self.assertEqual({ppid(self.session(c)) for c in held}, {self.tcpserver()})
        self.assertTrue(self.refused_over_the_limit())
        self.send(held[0], 21)
        for c in held:
            c.quit()
        qt.wait_for(lambda: self.delivered(21), 30, "the message delivered")
        qt.wait_for(lambda: not self.q.pids("smtpd"), 10, "the sessions to end")
        again = qt.wait_for(lambda: self.open_all(PERIP), 10, "their places free again")
        self.assertNotIn(server, {ppid(self.session(c)) for c in again})
        for c in again:
            c.quit()

    def test_kills_under_load_lose_no_acknowledged_message_and_no_place(self):
        out = qt.Outcomes()
        accepted, refused, errors = out.accepted, out.refused, out.errors
        stop = time.monotonic() + 8

        def client(first):
            n = first
            while time.monotonic() < stop:
                n += 1
                out.send(self.port, n, self.send, timeout=30)
        threads = [threading.Thread(target=client, args=(1000 + i * 100000,)) for i in range(PERIP)]
        for t in threads:
            t.start()
        kills = 0
        rng = random.Random(13)
        while any(t.is_alive() for t in threads):
            time.sleep(0.1)
            servers, sessions = self.servers(), self.q.pids("smtpd")
            victims = servers if servers and rng.random() < 0.15 else sessions
            if not victims:
                continue
            try:
                os.kill(rng.choice(victims), signal.SIGKILL if victims is servers else
                        rng.choice([signal.SIGSEGV, signal.SIGABRT, signal.SIGKILL]))
                kills += 1
            except ProcessLookupError:
                pass
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [], "no permanent refusal")
        self.assertGreaterEqual(kills, 20)
        self.assertGreater(len(accepted), 100, refused[:5])
        got = qt.wait_for(lambda: (lambda g: all(n in g for n in accepted) and g)(
            [qt.test_number(m) for m in self.q.maildir_messages(ALICE)]), 60, "every acknowledged message delivered")
        self.assertEqual([n for n in accepted if got.count(n) != 1], [], "each delivered once")
        qt.wait_for(lambda: not self.q.pids("smtpd"), 30, "the sessions to end")
        again = qt.wait_for(lambda: self.open_all(PERIP), 10, "every place at the limit free again")
        for c in again:
            c.quit()
        qt.note("%d acknowledged, %d refused temporarily, %d kills" % (len(accepted), len(refused), kills))


if __name__ == "__main__":
    unittest.main()
