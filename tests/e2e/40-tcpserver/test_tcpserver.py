"""tcpserver and quail-rules end to end: the UCSPI environment over IPv4 and IPv6,
tcprules (allow with env, deny, default, live rebuild, missing cdb), the -c/-C/-n
limits with the -o text, -i closing the idlest session for a newcomer, TCPBUSY,
an inherited (socket-activated) listener, readiness on QUAIL_READY_FD, SIGTERM
letting a session finish, and usage errors.
Loopback only, free ports, bounded waits; every process group started is killed."""
import fcntl
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import smtplib
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import quailtest as qt  # noqa: E402

qt.require("tcpserver", "quail-rules")
TCPSERVER = qt.bin_path("tcpserver")
QUAIL_RULES = qt.bin_path("quail-rules")

FIELDS = ("PROTO", "TCPREMOTEIP", "TCPREMOTEPORT", "TCPLOCALIP", "TCPLOCALPORT", "TCPLOCALHOST",
          "TCP6REMOTEIP", "RELAYCLIENT", "X", "QUAIL_READY_FD", "LISTEN_FDS", "LISTEN_PID")
# Prints the session's environment as one line of NAME=value|... ("unset" when unset).
ENV_PROGRAM = ["/bin/sh", "-c", "echo \"" + "|".join("%s=${%s-unset}" % (f, f) for f in FIELDS) + "\""]
# Holds the session open until the client sends a line.
HOLD_PROGRAM = ["/bin/sh", "-c", "echo ready; read x; echo \"done $x\""]


def parse_env_line(data):
    line = data.decode().strip()
    return dict(item.split("=", 1) for item in line.split("|"))


def connect(host, port, source=None, timeout=5.0):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        if source:
            s.bind((source, 0))
        s.connect((host, port))
    except OSError:
        s.close()
        raise
    return s


def read_all(s):
    out = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            return out
        out += chunk


def talk(host, port, source=None):
    with connect(host, port, source) as s:
        return read_all(s)


class TcpserverTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="quail-e2e-tcpserver-")
        self.procs = []

    def tearDown(self):
        for proc, _ in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)  # the server and its sessions
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)
        if os.environ.get("QUAIL_KEEP") != "1":
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ------------------------------------------------------------ helpers

    def start(self, args, inherit=None, env=None, wait_ready=True):
        """Starts tcpserver with args in its own process group; waits for the
        readiness byte on QUAIL_READY_FD. inherit: a listening socket passed as
        fd 3 with LISTEN_FDS=1 and LISTEN_PID set to tcpserver's own pid."""
        log = os.path.join(self.tmp, "log-%d" % len(self.procs))
        r, w0 = os.pipe()
        w = fcntl.fcntl(w0, fcntl.F_DUPFD, 10)  # clear of fd 3, which an inherited socket takes
        os.close(w0)
        e = dict(os.environ if env is None else env)
        e["QUAIL_READY_FD"] = str(w)
        fds = [w]
        argv = [TCPSERVER] + args
        if inherit is not None:
            fd = inherit.fileno()
            fds.append(fd)
            move = "exec 3<&%d %d<&-; " % (fd, fd) if fd != 3 else ""
            script = move + 'export LISTEN_PID=$$ LISTEN_FDS=1; exec "$0" "$@"'
            argv = ["/bin/sh", "-c", script] + argv
        with open(log, "wb") as logf:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=logf,
                                    env=e, pass_fds=fds, start_new_session=True)
        self.procs.append((proc, log))
        os.close(w)
        try:
            if wait_ready:
                ready, _, _ = select.select([r], [], [], 10)
                self.assertTrue(ready, "tcpserver not ready within 10 s: " + self.log_text(proc))
                self.assertEqual(os.read(r, 16), b"\n", self.log_text(proc))
        finally:
            os.close(r)
        return proc

    def log_text(self, proc):
        for p, log in self.procs:
            if p is proc:
                with open(log, "rb") as f:
                    return f.read().decode(errors="replace")
        return ""

    def events(self, proc, event):
        return [d for d in map(qt.parse_logfmt, self.log_text(proc).splitlines()) if d.get("event") == event]

    def wait_event(self, proc, event, count=1):
        return qt.wait_for(lambda: len(self.events(proc, event)) >= count and self.events(proc, event),
                           10, "%d x event=%s in %s" % (count, event, self.log_text(proc)))

    def rules(self, text):
        """Writes control/rules.smtp under a root and compiles it; the cdb path."""
        control = os.path.join(self.tmp, "root", "control")
        os.makedirs(control, exist_ok=True)
        with open(os.path.join(control, "rules.smtp"), "w") as f:
            f.write(text)
        r = subprocess.run([QUAIL_RULES, "--root", os.path.join(self.tmp, "root"), "smtp"],
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return os.path.join(control, "rules.smtp.cdb")

    # ------------------------------------------------------------ UCSPI environment

    def test_ucspi_environment_over_ipv4(self):
        port = qt.free_port()
        proc = self.start(["-l", "mx.example.test", "127.0.0.1", str(port)] + ENV_PROGRAM)
        with connect("127.0.0.1", port) as s:
            client_port = s.getsockname()[1]
            env = parse_env_line(read_all(s))
        self.assertEqual(env["PROTO"], "TCP")
        self.assertEqual(env["TCPREMOTEIP"], "127.0.0.1")
        self.assertEqual(env["TCPREMOTEPORT"], str(client_port))
        self.assertEqual(env["TCPLOCALIP"], "127.0.0.1")
        self.assertEqual(env["TCPLOCALPORT"], str(port))
        self.assertEqual(env["TCPLOCALHOST"], "mx.example.test")
        self.assertEqual(env["TCP6REMOTEIP"], "unset")
        self.assertEqual(env["RELAYCLIENT"], "unset")
        self.assertEqual(env["QUAIL_READY_FD"], "unset")  # meant for quail up, not the sessions
        connects = self.wait_event(proc, "connect")
        self.assertEqual(connects[0]["remote"], "127.0.0.1")
        ends = self.wait_event(proc, "end")
        self.assertEqual(ends[0]["status"], "0")
        self.assertEqual(ends[0]["pid"], connects[0]["pid"])

    def test_ucspi_environment_over_ipv6(self):
        port = qt.free_port("::1")
        self.start(["[::1]", str(port)] + ENV_PROGRAM)
        env = parse_env_line(talk("::1", port))
        self.assertEqual(env["PROTO"], "TCP6")
        self.assertEqual(env["TCPREMOTEIP"], "::1")
        self.assertEqual(env["TCP6REMOTEIP"], "::1")
        self.assertEqual(env["TCPLOCALIP"], "::1")
        self.assertEqual(env["TCPLOCALPORT"], str(port))
        self.assertEqual(env["TCPLOCALHOST"], "unset")

    # ------------------------------------------------------------ rules

    def test_rules_allow_with_env_deny_and_default(self):
        cdb = self.rules('# as quail init writes them, and more\n'
                         '127.0.0.1:allow,RELAYCLIENT="",X="a,b"\n'
                         '::1:allow,RELAYCLIENT=""\n'
                         '127.0.0.3:deny\n'
                         ':allow,X=default\n')
        port4, port6 = qt.free_port(), qt.free_port("::1")
        p4 = self.start(["-x", cdb, "127.0.0.1", str(port4)] + ENV_PROGRAM)
        self.start(["-x", cdb, "::1", str(port6)] + ENV_PROGRAM)

        env = parse_env_line(talk("127.0.0.1", port4))
        self.assertEqual((env["RELAYCLIENT"], env["X"]), ("", "a,b"))
        env = parse_env_line(talk("::1", port6))
        self.assertEqual((env["RELAYCLIENT"], env["X"]), ("", "unset"))
        env = parse_env_line(talk("127.0.0.1", port4, source="127.0.0.2"))
        self.assertEqual((env["RELAYCLIENT"], env["X"]), ("unset", "default"))
        # deny: the connection is closed at once and nothing is said.
        self.assertEqual(talk("127.0.0.1", port4, source="127.0.0.3"), b"")
        deny = self.wait_event(p4, "deny")
        self.assertEqual((deny[0]["remote"], deny[0]["rule"]), ("127.0.0.3", "127.0.0.3"))

        # The cdb is opened per connection: a rebuilt one counts at once.
        self.rules("127.0.0.1:deny\n")
        self.assertEqual(talk("127.0.0.1", port4), b"")
        env = parse_env_line(talk("127.0.0.1", port4, source="127.0.0.2"))
        self.assertEqual(env["X"], "unset")

    def test_unreadable_rules_refuse_unless_x_capital(self):
        missing = os.path.join(self.tmp, "absent.cdb")
        port = qt.free_port()
        proc = self.start(["-x", missing, "127.0.0.1", str(port)] + ENV_PROGRAM)
        self.assertEqual(talk("127.0.0.1", port), b"")
        refused = self.wait_event(proc, "refused")
        self.assertIn("absent.cdb", refused[0]["reason"])
        self.assertEqual(refused[0]["level"], "error")

        port2 = qt.free_port()
        self.start(["-X", "-x", missing, "127.0.0.1", str(port2)] + ENV_PROGRAM)
        self.assertEqual(parse_env_line(talk("127.0.0.1", port2))["PROTO"], "TCP")

    # ------------------------------------------------------------ limits

    def test_total_limit_refuses_with_the_o_text(self):
        port = qt.free_port()
        proc = self.start(["-c", "2", "-o", "421 busy, try later", "127.0.0.1", str(port)] + HOLD_PROGRAM)
        a, b = connect("127.0.0.1", port), connect("127.0.0.1", port)
        try:
            self.assertEqual(qt.recv_line(a), b"ready\n")
            self.assertEqual(qt.recv_line(b), b"ready\n")
            self.assertEqual(talk("127.0.0.1", port), b"421 busy, try later\r\n")
            refused = self.wait_event(proc, "refused")
            self.assertEqual((refused[0]["reason"], refused[0]["limit"]), ("limit", "total"))
            a.sendall(b"x\n")
            self.assertEqual(read_all(a), b"done x\n")
        finally:
            a.close()
            b.close()
        self.wait_event(proc, "end")

        def served():
            with connect("127.0.0.1", port) as c:
                if qt.recv_line(c) != b"ready\n":
                    return False
                c.sendall(b"y\n")
                return read_all(c) == b"done y\n"
        qt.wait_for(served, 10, "a session once one ended")

    def test_per_address_limit(self):
        port = qt.free_port()
        proc = self.start(["-C", "1", "-o", "421 too many from you", "127.0.0.1", str(port)] + HOLD_PROGRAM)
        with connect("127.0.0.1", port) as a:
            self.assertEqual(qt.recv_line(a), b"ready\n")
            self.assertEqual(talk("127.0.0.1", port), b"421 too many from you\r\n")
            with connect("127.0.0.1", port, source="127.0.0.2") as other:
                self.assertEqual(qt.recv_line(other), b"ready\n")
            refused = self.wait_event(proc, "refused")
            self.assertEqual(refused[0]["limit"], "perip")

    def test_per_network_limit_counts_the_whole_slash_24(self):
        port = qt.free_port()
        proc = self.start(["-n", "2", "-o", "421 too many from your network", "127.0.0.1", str(port)]
                          + HOLD_PROGRAM)
        with connect("127.0.0.1", port, source="127.0.7.1") as a, \
                connect("127.0.0.1", port, source="127.0.7.2") as b:
            self.assertEqual(qt.recv_line(a), b"ready\n")
            self.assertEqual(qt.recv_line(b), b"ready\n")
            self.assertEqual(talk("127.0.0.1", port, source="127.0.7.3"), b"421 too many from your network\r\n")
            with connect("127.0.0.1", port, source="127.0.8.1") as other:
                self.assertEqual(qt.recv_line(other), b"ready\n")
            refused = self.wait_event(proc, "refused")
            self.assertEqual(refused[0]["limit"], "pernet")

    def test_full_server_closes_the_idlest_session_for_a_newcomer(self):
        port = qt.free_port()
        proc = self.start(["-c", "2", "-i", "1", "-o", "421 busy", "127.0.0.1", str(port)] + HOLD_PROGRAM)
        old, idle = connect("127.0.0.1", port, timeout=30), None
        try:
            self.assertEqual(qt.recv_line(old), b"ready\n")
            idle = connect("127.0.0.1", port, timeout=30)
            self.assertEqual(qt.recv_line(idle), b"ready\n")

            def newcomer():
                c = connect("127.0.0.1", port, timeout=30)
                if qt.recv_line(c) == b"ready\n":
                    return c
                c.close()  # refused: none idle for 1 s yet
                return None
            c = qt.wait_for(newcomer, 20, "a newcomer served in place of an idle session")
            with c:
                # The one idle longest was told the -o text and closed; the other still runs.
                self.assertEqual(read_all(old), b"421 busy\r\n")
                idle.sendall(b"x\n")
                self.assertEqual(read_all(idle), b"done x\n")
                c.sendall(b"y\n")
                self.assertEqual(read_all(c), b"done y\n")
            evict = self.wait_event(proc, "evict")[0]
            self.assertGreaterEqual(int(evict["idle_ms"]), 1000)
        finally:
            old.close()
            if idle:
                idle.close()

    def test_busy_is_told_to_the_program_above_80_percent(self):
        port = qt.free_port()
        busy = ["/bin/sh", "-c", "echo \"busy=${TCPBUSY-unset}\"; read x"]
        self.start(["-c", "5", "127.0.0.1", str(port)] + busy, env=dict(os.environ, TCPBUSY="stale"))
        held = []
        try:
            for _ in range(5):
                held.append(connect("127.0.0.1", port))
            self.assertEqual([qt.recv_line(c) for c in held], [b"busy=unset\n"] * 4 + [b"busy=1\n"])
        finally:
            for c in held:
                c.close()

    def test_limit_without_o_just_closes(self):
        port = qt.free_port()
        self.start(["-c", "1", "127.0.0.1", str(port)] + HOLD_PROGRAM)
        with connect("127.0.0.1", port) as a:
            self.assertEqual(qt.recv_line(a), b"ready\n")
            self.assertEqual(talk("127.0.0.1", port), b"")

    def test_reconnecting_client_within_the_per_address_limit_is_never_refused(self):
        # Issue 9 item 11: never more than N open from one address, never refused by -C N,
        # although each session's process outlives the connection its client closed.
        port = qt.free_port()
        proc = self.start(["-c", "1000", "-C", "4", "-o", "421 too many connections", "127.0.0.1", str(port)]
                          + LINGER_PROGRAM)

        def session():
            with connect("127.0.0.1", port, timeout=30) as c:
                first = qt.recv_line(c)
                if first != b"ready\n":
                    raise AssertionError("greeted with %r" % first)
                c.sendall(b"x\n")
                if qt.recv_line(c) != b"bye\n":
                    raise AssertionError("no bye")
        errors = hold_n_sessions(4, 75, session)
        self.assertEqual(errors, [], "%d of 300 sessions failed" % len(errors))
        self.assertEqual(self.events(proc, "refused"), [])
        # The limit still holds against a fifth connection held open.
        held = [connect("127.0.0.1", port) for _ in range(4)]
        try:
            for c in held:
                self.assertEqual(qt.recv_line(c), b"ready\n")
            self.assertEqual(talk("127.0.0.1", port), b"421 too many connections\r\n")
        finally:
            for c in held:
                c.close()

    # ------------------------------------------------------------ inherited socket

    def test_inherited_listener(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as ls:
            ls.bind(("127.0.0.1", 0))
            ls.listen(16)
            port = ls.getsockname()[1]
            proc = self.start(["-", "-"] + ENV_PROGRAM, inherit=ls)
        env = parse_env_line(talk("127.0.0.1", port))
        self.assertEqual(env["TCPLOCALPORT"], str(port))
        self.assertEqual((env["LISTEN_FDS"], env["LISTEN_PID"]), ("unset", "unset"))
        listen = self.events(proc, "listen")
        self.assertEqual((listen[0]["inherited"], listen[0]["port"]), ("yes", str(port)))

    def test_dash_without_inherited_socket_is_a_usage_error(self):
        r = subprocess.run([TCPSERVER, "-", "-", "/bin/true"], capture_output=True, timeout=30,
                           env={k: v for k, v in os.environ.items() if not k.startswith("LISTEN_")})
        self.assertEqual(r.returncode, 100)
        self.assertIn(b"LISTEN_FDS", r.stderr)

    # ------------------------------------------------------------ signals

    def test_sigterm_lets_a_running_session_finish(self):
        port = qt.free_port()
        proc = self.start(["127.0.0.1", str(port)] + HOLD_PROGRAM)
        with connect("127.0.0.1", port) as s:
            self.assertEqual(qt.recv_line(s), b"ready\n")
            proc.send_signal(signal.SIGTERM)
            self.wait_event(proc, "stop")
            with self.assertRaises(ConnectionRefusedError):
                connect("127.0.0.1", port).close()
            self.assertIsNone(proc.poll(), "tcpserver left before its session ended")
            s.sendall(b"bye\n")
            self.assertEqual(read_all(s), b"done bye\n")
        self.assertEqual(proc.wait(timeout=10), 0)
        self.assertTrue(self.events(proc, "exit"))

    def test_sessions_take_signals_with_default_handling(self):
        # tcpserver blocks the signals it reads from its signalfd; a session must
        # not inherit that mask, or `quail down` could not stop it.
        port = qt.free_port()
        proc = self.start(["127.0.0.1", str(port), "/bin/sh", "-c", "echo $$; read x"])
        with connect("127.0.0.1", port) as s:
            pid = int(qt.recv_line(s))
            os.kill(pid, signal.SIGTERM)
            self.assertEqual(read_all(s), b"")
        ends = self.wait_event(proc, "end")
        self.assertEqual((ends[0]["pid"], ends[0].get("signal")), (str(pid), str(signal.SIGTERM.value)))

    def test_sessions_start_with_no_signal_blocked_and_only_our_ignored_ones_reset(self):
        # The session's start (clone and exec, spawn_session) resets SIGPIPE,
        # SIGXFSZ, SIGCHLD, SIGHUP, SIGTERM, SIGINT and SIGALRM; a signal ignored by
        # whoever started tcpserver (SIGQUIT, SIGUSR1 here) stays ignored, as with
        # posix_spawn and nohup. The shell execs grep, which reads its own status:
        # the shell's, read from its child, could be caught inside dash's vfork with
        # every signal blocked (seen under load).
        def ignore():
            for sig in (signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGALRM):
                signal.signal(sig, signal.SIG_IGN)
        port = qt.free_port()
        log = os.path.join(self.tmp, "log-signals")
        r, w = os.pipe()
        e = dict(os.environ, QUAIL_READY_FD=str(w))
        with open(log, "wb") as logf:
            proc = subprocess.Popen([TCPSERVER, "127.0.0.1", str(port), "/bin/sh", "-c",
                                     "exec grep -E '^Sig(Blk|Ign)' /proc/self/status"],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=logf, env=e,
                                    pass_fds=[w], start_new_session=True, preexec_fn=ignore)
        self.procs.append((proc, log))
        os.close(w)
        try:
            self.assertTrue(select.select([r], [], [], 10)[0], "tcpserver not ready")
        finally:
            os.close(r)
        fields = dict(l.split(":\t") for l in talk("127.0.0.1", port).decode().splitlines())
        self.assertEqual(int(fields["SigBlk"], 16), 0)
        ignored = {n for n in range(1, 65) if int(fields["SigIgn"], 16) >> (n - 1) & 1}
        self.assertIn(signal.SIGQUIT.value, ignored)
        self.assertIn(signal.SIGUSR1.value, ignored)
        for sig in (signal.SIGHUP, signal.SIGALRM, signal.SIGPIPE, signal.SIGXFSZ):
            self.assertNotIn(sig.value, ignored, sig.name)

    def test_a_program_that_cannot_be_run_is_logged_and_the_server_keeps_serving(self):
        program = os.path.join(self.tmp, "hello")
        with open(program, "w") as f:
            f.write("#!/bin/sh\necho hello\n")
        os.chmod(program, 0o755)
        port = qt.free_port()
        proc = self.start(["127.0.0.1", str(port), program])
        self.assertEqual(talk("127.0.0.1", port), b"hello\n")
        os.chmod(program, 0o644)  # exec(2) now fails with EACCES
        self.assertEqual(talk("127.0.0.1", port), b"")
        failed = self.wait_event(proc, "spawn_failed")
        self.assertIn("Permission denied", failed[0]["reason"])
        os.chmod(program, 0o755)
        self.assertEqual(talk("127.0.0.1", port), b"hello\n")
        self.assertIsNone(proc.poll())
        self.assertEqual(len(self.events(proc, "connect")), 2)

    # ------------------------------------------------------------ usage

    @unittest.skipUnless(os.geteuid() == 0, "switching ids needs root")
    def test_g_list_gives_the_session_its_group_and_supplementary_groups(self):
        # quail up's system install: quail-smtpd keeps its membership in quail-mail.
        port = qt.free_port()
        self.start(["-u", "65534", "-g", "65534,4,20", "127.0.0.1", str(port), "/bin/cat", "/proc/self/status"])
        status = dict(l.split(":", 1) for l in talk("127.0.0.1", port).decode().splitlines() if ":" in l)
        self.assertEqual(status["Uid"].split()[:2], ["65534", "65534"])
        self.assertEqual(status["Gid"].split()[:2], ["65534", "65534"])
        self.assertEqual(sorted(int(g) for g in status["Groups"].split()), [4, 20, 65534])

    def test_usage_errors(self):
        cases = [
            (["-h", "127.0.0.1", "1", "/bin/true"], b"reverse DNS"),
            (["localhost", "1", "/bin/true"], b"no DNS"),
            (["127.0.0.1", "99999", "/bin/true"], b"65535"),
            (["-c", "0", "127.0.0.1", "1", "/bin/true"], b"-c"),
            (["127.0.0.1", "1", "/nonexistent/program"], b"unable to find program"),
            (["-4", "::1", "1", "/bin/true"], b"-4"),
            (["127.0.0.1", "1"], b"required"),
            (["-n", "x", "127.0.0.1", "1", "/bin/true"], b"-n"),
            (["-i", "-1", "127.0.0.1", "1", "/bin/true"], b"-i"),
            (["-g", "1,x", "127.0.0.1", "1", "/bin/true"], b"-g"),
            (["-g", "1,", "127.0.0.1", "1", "/bin/true"], b"-g"),
        ]
        for args, text in cases:
            r = subprocess.run([TCPSERVER] + args, capture_output=True, timeout=30)
            self.assertEqual(r.returncode, 100, args)
            self.assertIn(text, r.stderr, args)

    def test_port_in_use_is_temporary(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            r = subprocess.run([TCPSERVER, "127.0.0.1", str(busy.getsockname()[1]), "/bin/true"],
                               capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 111)
        self.assertIn(b"unable to bind", r.stderr)

# Answers one line and goes on running for a moment after its client has read the
# answer, as smtpd does after 221 (it finishes its queue-inject session).
LINGER_PROGRAM = ["/bin/sh", "-c", "echo ready; read x; echo bye; sleep 0.3"]


def hold_n_sessions(n, rounds, session):
    """n threads, each running session() `rounds` times back to back: never more
    than n connections open at once. The errors raised, as text."""
    errors = []

    def worker():
        for _ in range(rounds):
            try:
                session()
            except Exception as e:  # noqa: BLE001 -- every failure is the test's finding
                errors.append(repr(e))
                return
    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return errors


class SmtpConnectionCountTest(unittest.TestCase):
    """The same through quail up's smtpd: N sessions held from one address, one
    message per connection, a few hundred connections, concurrencyperip N."""

    def test_one_message_per_connection_within_concurrencyperip(self):
        qt.require("quail", "smtpd", "queue-send", "local-deliver")
        n, rounds = 4, 60
        with qt.Instance() as q:
            q.init("mx.example.test", ["example.test"])
            q.add_user("alice@example.test")
            q.write_control("concurrencyperip", "%d\n" % n)
            port = qt.free_port()
            q.up(smtp="127.0.0.1:%d" % port)

            def session():
                with smtplib.SMTP("127.0.0.1", port, timeout=60) as c:
                    c.sendmail("bob@example.test", ["alice@example.test"], b"Subject: one\r\n\r\nhi\r\n")
            errors = hold_n_sessions(n, rounds, session)
            self.assertEqual(errors, [], "%d of %d sessions failed" % (len(errors), n * rounds))
            qt.wait_for(lambda: len(q.maildir_files("alice@example.test")) >= n * rounds, 120,
                        "%d messages delivered" % (n * rounds))


class QuailRulesTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="quail-e2e-rules-")
        os.makedirs(os.path.join(self.root, "control"))

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def write(self, name, text):
        with open(os.path.join(self.root, "control", name), "w") as f:
            f.write(text)

    def run_rules(self, *args):
        return subprocess.run([QUAIL_RULES, "--root", self.root] + list(args), capture_output=True, timeout=30)

    def test_malformed_line_names_file_and_line_and_keeps_the_old_cdb(self):
        self.write("rules.smtp", "127.0.0.1:allow\n")
        self.assertEqual(self.run_rules("smtp").returncode, 0)
        cdb = os.path.join(self.root, "control", "rules.smtp.cdb")
        with open(cdb, "rb") as f:
            before = f.read()
        self.write("rules.smtp", "127.0.0.1:allow\n# fine\n10.0.0.300:deny\n")
        r = self.run_rules("smtp")
        self.assertEqual(r.returncode, 100)
        self.assertIn(b"rules.smtp:3:", r.stderr)
        with open(cdb, "rb") as f:
            self.assertEqual(f.read(), before)
        self.assertFalse(os.path.exists(cdb + ".tmp"))

    def test_all_compiles_every_rules_file(self):
        self.write("rules.smtp", ":allow\n")
        self.write("rules.pop3", "127.0.0.1:allow\n:deny\n")
        self.write("rules.smtp.cdb~", "")  # not a source: its name has a dot and a tilde
        r = self.run_rules("--all")
        self.assertEqual(r.returncode, 0, r.stderr)
        for s in ("smtp", "pop3"):
            self.assertTrue(os.path.exists(os.path.join(self.root, "control", "rules.%s.cdb" % s)))

    def test_usage(self):
        self.assertEqual(self.run_rules().returncode, 100)
        self.assertEqual(self.run_rules("../etc").returncode, 100)
        self.assertEqual(self.run_rules("nosuch").returncode, 100)


if __name__ == "__main__":
    unittest.main()
