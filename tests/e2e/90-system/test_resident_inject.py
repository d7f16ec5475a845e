"""The resident injector of a --system instance (issue 13, target 2): `quail up`
runs `queue-inject -d` under supervise; smtpd's sessions reach the queue through
ROOT/run/queue-inject.sock (only quail-smtpd's group may connect) and a session
process the injector forked, which runs as quail-queue, not through an exec of
the set-uid copy.

- the socket is quail-queue:quail-smtpd 0660, the injector and each session's
  child run as quail-queue alone, the child is the injector's (not smtpd's);
- mail through it is delivered; its Received line names smtpd's uid (the
  peer's credentials) and queue-inject's log line lands in the smtp log;
- the child serves the next session too: between sessions it holds nothing of
  the last one (fds 0 and 1 on /dev/null, fd 2 the injector's own), and after
  10 s without a caller it is gone;
- a child serves at most 100 sessions, then a fresh one takes over;
- a session child killed by a signal makes the injector exit (a fresh start, a
  fresh address layout): supervise starts a new one, the SMTP session that lost
  its child goes on with its next message, and nothing is lost;
- a socket smtpd may not use: smtpd execs the set-uid queue-inject, as before;
- a caller speaking nonsense on the socket (no descriptor, a bad frame) gets
  91 and its session ends; one that goes at once leaves nothing; the injector
  itself is untouched and serves the next session;
- the injector killed (SIGKILL) again and again under load: every message
  acknowledged with 250 is delivered exactly once, the others got 4xx.

Needs root (CI runs as root)."""
import os
import pwd
import grp
import signal
import socket
import smtplib
import stat
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import quailtest as qt  # noqa: E402

ALICE = "alice@res.test"


def status_field(pid, field):
    """The numbers of a /proc/PID/status field; [-1] once the process is gone."""
    for line in qt._proc_read(pid, "status").decode().splitlines():
        if line.startswith(field + ":"):
            return [int(x) for x in line.split()[1:]]
    return [-1]


def fd_target(pid, fd):
    try:
        return os.readlink("/proc/%d/fd/%d" % (pid, fd))
    except OSError:
        return ""


def user_names(pid):
    return {pwd.getpwuid(u).pw_name for u in status_field(pid, "Uid") if u >= 0}


@unittest.skipUnless(os.geteuid() == 0, "a system install needs root")
class ResidentInjectorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        qt.require("quail", "queue-send", "local-spawn", "local-deliver", "queue-inject", "tcpserver", "smtpd")
        cls.q = qt.Instance(prefix="quail-res-")
        os.chmod(cls.q.tmp, 0o755)
        cls.q.init(hostname="mx.res.test", domains=("res.test",), extra=("--system",))
        cls.q.add_user(ALICE)
        cls.port = qt.free_port()
        cls.q.up(smtp="127.0.0.1:%d" % cls.port)
        cls.sock = cls.q.path("run", "queue-inject.sock")
        cls.smtpd_uid = pwd.getpwnam("quail-smtpd").pw_uid

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()

    def injector(self):
        """The resident injector's pid (supervise's queue-inject child), or None."""
        sup = set(qt.processes_under(self.q.root, "supervise"))
        found = [p for p in qt.processes_under(self.q.root, "queue-inject") if status_field(p, "PPid")[0] in sup]
        return found[0] if len(found) == 1 else None

    def session_children(self, parent):
        return [p for p in qt.processes_under(self.q.root, "queue-inject") if status_field(p, "PPid")[0] == parent]

    def busy_children(self, parent):
        """The children serving a session now: their fd 0 is the caller's socket."""
        return [p for p in self.session_children(parent) if fd_target(p, 0).startswith("socket:")]

    def delivered(self, n):
        return n in [qt.test_number(m) for m in self.q.maildir_messages(ALICE)]

    def send(self, c, n):
        c.sendmail("someone@elsewhere.test", [ALICE], qt.make_message(n, to=ALICE).replace(b"\n", b"\r\n"))

    def test_the_socket_is_for_smtpd_alone_and_the_injector_is_quail_queue(self):
        st = os.stat(self.sock)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        self.assertEqual(pwd.getpwuid(st.st_uid).pw_name, "quail-queue")
        self.assertEqual(grp.getgrgid(st.st_gid).gr_name, "quail-smtpd")
        pid = qt.wait_for(self.injector, 10, "the resident injector")
        self.assertEqual(user_names(pid), {"quail-queue"})
        with open("/proc/%d/status" % pid) as f:
            caps = [l.split()[1] for l in f if l.startswith("CapEff:")]
        self.assertEqual(int(caps[0], 16), 0, "the injector holds no capability")
        status = self.q.quail("status").stdout.decode()
        self.assertRegex(status, r"(?m)^queue-inject running pid=%d " % pid)

    def test_an_smtp_session_injects_through_a_child_of_the_injector(self):
        parent = qt.wait_for(self.injector, 10, "the resident injector")
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as c:
            c.ehlo("client.test")
            self.send(c, 301)
            # The session keeps its injector until it ends: a child of the resident
            # one, as quail-queue through and through (a set-uid exec would keep
            # smtpd's real uid).
            kids = qt.wait_for(lambda: self.busy_children(parent), 10, "the session's queue-inject")
            self.assertEqual(len(kids), 1)
            self.assertEqual(user_names(kids[0]), {"quail-queue"})
            smtpds = qt.processes_under(self.q.root, "smtpd")
            self.assertFalse([p for p in qt.processes_under(self.q.root, "queue-inject")
                              if status_field(p, "PPid")[0] in smtpds], "no queue-inject exec'd by smtpd")
            self.send(c, 302)
        qt.wait_for(lambda: self.delivered(301) and self.delivered(302), 30, "both messages delivered")
        msg = [m for m in self.q.maildir_messages(ALICE) if qt.test_number(m) == 302][0]
        self.assertIn(b"invoked by uid %d)" % self.smtpd_uid, msg, "the Received line names smtpd's uid")
        queued = [l for l in self.q.log_lines("smtp") if l.get("prog") == "queue-inject" and l.get("event") == "queued"]
        self.assertGreaterEqual(len(queued), 2, "queue-inject's lines are in the smtp log, as an exec'd one's")
        self.assertEqual(queued[-1].get("uid"), str(self.smtpd_uid))
        # After QUIT the child waits for the next session, holding nothing of this one.
        qt.wait_for(lambda: not self.busy_children(parent), 10, "the session's child free after QUIT")
        self.assertIn(kids[0], self.session_children(parent), "the child kept for the next session")
        self.assertEqual((fd_target(kids[0], 0), fd_target(kids[0], 1)), ("/dev/null", "/dev/null"))
        self.assertEqual(fd_target(kids[0], 2), fd_target(parent, 2), "its stderr is the injector's again")
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as c:
            self.send(c, 303)
            self.assertEqual(self.busy_children(parent), kids, "the next session in the same child")
        qt.wait_for(lambda: self.delivered(303), 30, "the second session's message delivered")
        queued = [l for l in self.q.log_lines("smtp") if l.get("prog") == "queue-inject" and l.get("event") == "queued"]
        self.assertEqual(queued[-1].get("uid"), str(self.smtpd_uid))
        # A quiet server keeps no idle processes.
        qt.wait_for(lambda: kids[0] not in self.session_children(parent), 20, "the idle child retired after 10 s")
        self.assertEqual(self.injector(), parent)

    def test_a_child_serves_at_most_100_sessions(self):
        parent = qt.wait_for(self.injector, 10, "the resident injector")
        served = []  # the child that served each session, in order
        for n in range(1100, 1205):
            with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as c:
                self.send(c, n)
                busy = self.busy_children(parent)
                self.assertEqual(len(busy), 1, busy)
                served.append(busy[0])
            qt.wait_for(lambda: not self.busy_children(parent), 10, "the child free after QUIT")
        runs = [p for i, p in enumerate(served) if i == 0 or served[i - 1] != p]
        self.assertEqual(len(runs), len(set(runs)), "a child that was left is never handed a session again")
        self.assertGreaterEqual(len(runs), 2, "one child served 105 sessions")
        self.assertLessEqual(max(served.count(p) for p in runs), 100)
        self.assertLessEqual(len(runs), 3, "sessions one after another share a child")
        self.assertEqual(self.injector(), parent)
        qt.wait_for(lambda: all(self.delivered(n) for n in range(1100, 1205)), 60, "every message delivered")

    def test_a_session_child_killed_by_a_signal_restarts_the_injector_and_nothing_is_lost(self):
        parent = qt.wait_for(self.injector, 10, "the resident injector")
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as c:
            c.ehlo("client.test")
            self.send(c, 311)
            kid = qt.wait_for(lambda: self.busy_children(parent), 10, "the session's queue-inject")[0]
            os.kill(kid, signal.SIGSEGV)
            # The injector exits rather than fork another child from the same layout.
            qt.wait_for(lambda: self.injector() != parent, 10, "the injector to exit")
            # The same session goes on: its next message gets a new injector (the
            # restarted one, or an exec while supervise waits out its second).
            self.send(c, 312)
        fresh = qt.wait_for(lambda: (self.injector() not in (None, parent)) and self.injector(), 15,
                            "supervise to start a fresh injector")
        self.assertNotEqual(fresh, parent)
        lines = self.q.log_lines("queue-inject")
        self.assertTrue([l for l in lines if l.get("event") == "child-signaled" and l.get("signal") == "11"], lines)
        self.assertTrue([l for l in lines if l.get("event") == "exiting"])
        qt.wait_for(lambda: self.delivered(311) and self.delivered(312), 30, "both messages delivered")
        # And the fresh one serves the next session.
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as c:
            self.send(c, 313)
            self.assertTrue(self.session_children(fresh), "a child of the fresh injector")
        qt.wait_for(lambda: self.delivered(313), 30, "delivery through the fresh injector")

    def test_a_socket_smtpd_may_not_use_means_the_set_uid_exec(self):
        os.chmod(self.sock, 0o600)
        self.addCleanup(os.chmod, self.sock, 0o660)
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as c:
            c.ehlo("client.test")
            self.send(c, 321)
            smtpds = qt.processes_under(self.q.root, "smtpd")
            execd = [p for p in qt.processes_under(self.q.root, "queue-inject") if status_field(p, "PPid")[0] in smtpds]
            self.assertEqual(len(execd), 1, "smtpd exec'd queue-inject")
            # set-uid: smtpd's real uid, quail-queue's effective one.
            uids = status_field(execd[0], "Uid")
            self.assertEqual((uids[0], pwd.getpwuid(uids[1]).pw_name), (self.smtpd_uid, "quail-queue"))
        qt.wait_for(lambda: self.delivered(321), 30, "delivery through the exec'd queue-inject")

    def test_a_caller_speaking_nonsense_gets_91_and_the_injector_goes_on(self):
        parent = qt.wait_for(self.injector, 10, "the resident injector")
        mess = len(self.q.queue_entries("mess"))
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.settimeout(10)
            c.connect(self.sock)
            c.sendall(b"\0Z999999999999\n")  # the first byte without a descriptor, then no frame at all
            answer = b""
            while True:
                got = c.recv(512)
                if not got:
                    break
                answer += got
        self.assertTrue(answer.startswith(b"91 "), answer)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.connect(self.sock)  # and gone at once
        qt.wait_for(lambda: not self.busy_children(parent), 10, "both sessions over")
        self.assertEqual(self.injector(), parent, "the injector was restarted")
        self.assertEqual(len(self.q.queue_entries("mess")), mess, "something was queued")
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as c:
            self.send(c, 331)
        qt.wait_for(lambda: self.delivered(331), 30, "the next session's message delivered")

    def test_the_injector_killed_under_load_loses_no_acknowledged_message(self):
        first, count, clients = 400, 600, 8
        out = qt.Outcomes()
        accepted, refused, errors = out.accepted, out.refused, out.errors

        def client(numbers):
            for n in numbers:
                out.send(self.port, n, self.send)
        numbers = list(range(first, first + count))
        threads = [threading.Thread(target=client, args=(numbers[i::clients],)) for i in range(clients)]
        for t in threads:
            t.start()
        # Alternately the injector itself and a session's queue-inject in the middle
        # of a message (its injector then exits too: a child died of a signal).
        # While the injector is down (supervise waits a second, then two), smtpd
        # execs queue-inject: those are killed too.
        kills, next_at = 0, 40
        deadline = time.time() + 90
        while any(t.is_alive() for t in threads) and time.time() < deadline:
            if len(accepted) >= next_at:
                pid = self.injector()
                others = [p for p in qt.processes_under(self.q.root, "queue-inject") if p != pid]
                victims = [pid] if pid and kills % 2 == 0 else others[:1]
                for v in victims:
                    try:
                        os.kill(v, signal.SIGKILL)
                        kills += 1
                        next_at = len(accepted) + 40
                    except ProcessLookupError:
                        pass
            time.sleep(0.02)
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [], "no permanent refusal")
        self.assertGreaterEqual(kills, 4)
        self.assertTrue(accepted, refused)
        qt.wait_for(lambda: all(self.delivered(n) for n in accepted), 60, "every acknowledged message delivered")
        got = [qt.test_number(m) for m in self.q.maildir_messages(ALICE)]
        for n in accepted:
            self.assertEqual(got.count(n), 1, "message %d delivered once" % n)
        qt.note("%d acknowledged, %d refused temporarily, %d kills" % (len(accepted), len(refused), kills))
        qt.wait_for(self.injector, 15, "supervise to start the injector again")


if __name__ == "__main__":
    unittest.main()
