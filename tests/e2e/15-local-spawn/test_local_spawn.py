"""15-local-spawn: local deliveries run by the fork server (man/local-spawn.8).

Single-user instance (`quail up` starts `local-spawn - queue-send`): SMTP and
sendmail mail reaches a Maildir, an mbox, a |program and a forward from one
.qmail; the program sees the documented environment and none of the services'
variables, and runs under a forked local-spawn (no exec of local-deliver) that
holds no signal handler and no socket but its own to the server (a reused
delivery worker), never the scheduler's; a delivery whose child crashes or whose
program hangs and is killed is a temporary failure and is retried; a user or a
domain added after `quail up` gets mail without a HUP; `quail down` leaves no
process. System install (root only): each delivery runs as its recipient's uid,
still no exec, SIGHUP to local-spawn reaches queue-send and not the delivery, and
a domain added to control/locals after `quail up` is honoured; a login out of
/etc/passwd for a moment (a writer restoring an older copy) while useradd and
userdel churn other logins gets its mail deferred and then delivered, never
bounced; workers kept per uid never deliver for another login (two logins
interleaved, each Maildir file and each |program run its own login's), and a
login removed or added between deliveries is refused or served as itself.
"""
import os
import signal
import smtplib
import pwd
import subprocess
import threading
import time
import unittest

import quailtest as qt

qt.require("quail", "quail-init", "quail-user", "quail-up", "quail-down", "sendmail", "queue-inject",
           "queue-send", "local-spawn", "local-deliver", "tcpserver", "smtpd")

DOMAIN = "example.test"
ALICE = "alice@" + DOMAIN
BOB = "bob@" + DOMAIN
LOCAL_SPAWN = os.path.realpath(qt.bin_path("local-spawn"))
# What a |program may see: local-deliver's own environment (QUAIL_ROOT, PATH), the
# qmail-command(8) variables, and what sh itself sets.
DOCUMENTED = {"QUAIL_ROOT", "PATH", "USER", "HOME", "LOCAL", "HOST", "RECIPIENT", "SENDER", "NEWSENDER", "EXT",
              "EXT2", "EXT3", "EXT4", "HOST2", "HOST3", "HOST4", "DEFAULT", "DTLINE", "RPLINE", "UFLINE",
              "PWD", "OLDPWD", "SHLVL", "_"}

# A program that records who runs it, then waits until the test lets it finish:
# <name>.ppid is the delivery child (the program's parent), <name>.pid the program.
SLOW = ("|id -u > {n}.uid; echo $PPID > {n}.ppid; echo $$ > {n}.pid; "
        "test -f {n}.ok && exit 0; exec sleep 120\n")


def read(path, default=None):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return default


def env_file(path):
    out = {}
    for line in read(path, b"").decode("latin-1").splitlines():
        if "=" in line and line.split("=", 1)[0].isidentifier():
            k, v = line.split("=", 1)
            out[k] = v
    return out


def fd_links(pid):
    out = []
    d = "/proc/%d/fd" % pid
    for n in os.listdir(d):
        try:
            out.append(os.readlink(os.path.join(d, n)))
        except OSError:
            pass
    return out


def status_fields(pid):
    out = {}
    for line in qt._proc_read(pid, "status").decode().splitlines():
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out


def ppid_of(pid):
    st = qt._proc_read(pid, "stat").split(b")")[-1].split()
    return int(st[1]) if st else None


def servers(q):
    """The fork server(s) under q: local-spawn processes that are not delivery children."""
    spawns = q.pids("local-spawn")
    return [p for p in spawns if ppid_of(p) not in spawns]


def alive(pid):
    st = qt._proc_read(pid, "stat").split(b")")[-1].split()
    return bool(st) and st[0] != b"Z"


class DeliveryChildChecks:
    """Waits for a slow program (SLOW) under `home` and checks its delivery child."""

    def slow_child(self, home, name, timeout=30):
        qt.wait_for(lambda: read(os.path.join(home, name + ".pid")), timeout, "the slow program to start")
        child = int(read(os.path.join(home, name + ".ppid")).strip())
        program = int(read(os.path.join(home, name + ".pid")).strip())
        try:
            # The delivery is local-spawn forked: local-deliver was never exec'd.
            self.assertEqual(os.readlink("/proc/%d/exe" % child), LOCAL_SPAWN)
            sockets = [l for l in fd_links(child) if l.startswith("socket:")]
            if self.WORKERS:
                # A single-user delivery worker holds one socket, its own pair with
                # the server; never the scheduler's: none that queue-send or the
                # server holds (an inherited end would be the same socket).
                theirs = {l for p in self.q.pids("queue-send") + servers(self.q) for l in fd_links(p)}
                self.assertLessEqual(len(sockets), 1, "the delivery worker holds sockets: %s" % fd_links(child))
                self.assertFalse(set(sockets) & theirs, "the delivery worker holds the scheduler's socket")
            else:
                self.assertFalse(sockets, "the delivery child holds a socket: %s" % fd_links(child))
            st = status_fields(child)
            self.assertEqual(int(st["SigCgt"], 16), 0, "the delivery child has signal handlers")
            self.assertEqual(int(st["SigBlk"], 16), 0, "the delivery child blocks signals")
            # Signals 1-31 only: 32 and up are glibc's own or real-time ones, which a
            # caller's ignoring passes through an exec unchanged too (and glibc will
            # not let a program change 32 and 33).
            self.assertEqual(int(st["SigIgn"], 16) & 0x7fffffff, 1 << (signal.SIGPIPE - 1),
                             "only SIGPIPE is ignored")
        except BaseException:
            self.release(home, name, program)  # a failed check must not leave a delivery hanging
            raise
        return child, program, st

    def release(self, home, name, program):
        with open(os.path.join(home, name + ".ok"), "w"):
            pass
        try:
            os.kill(program, signal.SIGTERM)  # the hang ends: a temporary failure, then a retry
        except ProcessLookupError:
            pass

    def delivery_events(self, q, to):
        return [e for e in q.log_lines("queue-send") if e.get("event") == "delivery" and e.get("to") == "<%s>" % to]


class SingleUser(unittest.TestCase, DeliveryChildChecks):
    WORKERS = True  # deliveries run in reused workers (man/local-spawn.8, "Workers")

    @classmethod
    def setUpClass(cls):
        cls.q = qt.Instance()
        try:
            cls.q.init("mx." + DOMAIN, [DOMAIN])
            cls.q.add_user(ALICE)
            cls.q.add_user(BOB)
            home = cls.q.home(ALICE)
            files = {
                ".qmail": "./Maildir/\n./mbox\n"
                          "|env > prog.env; readlink /proc/$PPID/exe > prog.parent; "
                          "for f in /proc/$$/fd/*; do readlink $f; done > prog.fds; cat > prog.msg\n"
                          "&" + BOB + "\n",
                ".qmail-crash": SLOW.format(n="crash"),
                ".qmail-hang": SLOW.format(n="hang"),
            }
            for name, text in files.items():
                with open(os.path.join(home, name), "w") as f:
                    f.write(text)
                os.chmod(os.path.join(home, name), 0o644)
            cls.port = qt.free_port()
            cls.up = cls.q.up(env={"QUAIL_RETRY_SCALE": "600", "QUAIL_LEAK_MARKER": "1"},
                              smtp="127.0.0.1:%d" % cls.port)
        except BaseException:
            cls.q.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()

    def sendmail(self, n, to, sender=BOB):
        r = self.q.sendmail(["-i", "-f", sender, to], qt.make_message(n, to=to, sender=sender))
        self.assertEqual(r.returncode, 0, r.err)

    def test_services_are_queue_send_and_its_fork_server(self):
        with open(self.q.path("run", "queue-send.pid")) as f:
            service = int(f.read())
        self.assertEqual(self.q.pids("queue-send"), [service])
        server = servers(self.q)
        self.assertEqual(len(server), 1)
        self.assertEqual(ppid_of(server[0]), service, "the fork server is queue-send's child")
        rss = qt.rss_kib(server[0])
        qt.note("local-spawn VmRSS %d KiB" % rss)
        if not qt.sanitizer_build():  # ASan's shadow and quarantine: about 16 MiB
            self.assertLess(rss, 8192)
        again = self.q.up(smtp="127.0.0.1:%d" % self.port)  # idempotent, and no false alarm
        self.assertNotIn("other arguments", again.err)
        self.assertIn("already running", again.out)

    def test_smtp_and_sendmail_reach_maildir_mbox_program_and_forward(self):
        home = self.q.home(ALICE)
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as c:
            msg = qt.make_message(1, to=ALICE, sender="carol@elsewhere.test")
            c.sendmail("carol@elsewhere.test", [ALICE], msg.replace(b"\n", b"\r\n"))
        self.sendmail(2, ALICE)
        qt.wait_for(lambda: self.q.maildir_count(ALICE) >= 2 and self.q.maildir_count(BOB) >= 2, 30,
                    "two messages in alice's Maildir and two forwards to bob")
        got = {qt.test_number(m): m for m in self.q.maildir_messages(ALICE)}
        self.assertEqual(qt.header(got[1], "Return-Path"), [b"<carol@elsewhere.test>"])
        self.assertEqual(qt.header(got[2], "Delivered-To"), [ALICE.encode()])
        mbox = read(os.path.join(home, "mbox"))
        self.assertTrue(mbox.startswith(b"From ") and b"\nFrom carol@elsewhere.test " in b"\n" + mbox, mbox[:80])
        self.assertEqual(mbox.count(b"\nDelivered-To: " + ALICE.encode() + b"\n"), 2)
        forwarded = self.q.maildir_messages(BOB)
        self.assertTrue(all(ALICE.encode() in b"".join(qt.header(m, "Delivered-To")) for m in forwarded))
        self.assertEqual(read(os.path.join(home, "prog.parent")).strip().decode(), LOCAL_SPAWN)
        env = env_file(os.path.join(home, "prog.env"))
        self.assertEqual(env["RECIPIENT"], ALICE)
        self.assertEqual(env["USER"], ALICE)
        self.assertEqual(env["HOME"], home)
        self.assertEqual(env["QUAIL_ROOT"], self.q.root)
        self.assertIn("PATH", env)
        self.assertEqual(set(env) - DOCUMENTED, set(), "variables a program should not see")
        fds = read(os.path.join(home, "prog.fds")).decode().split()
        self.assertFalse([l for l in fds if l.startswith("socket:")], fds)

    def test_a_crashed_delivery_child_is_a_temporary_failure_and_retried(self):
        home = self.q.home(ALICE)
        to = "alice-crash@" + DOMAIN
        self.sendmail(10, to)
        child, program, _ = self.slow_child(home, "crash")
        try:
            os.kill(child, signal.SIGSEGV)
            first = qt.wait_for(lambda: self.delivery_events(self.q, to), 30, "the first attempt's outcome")[0]
            self.assertEqual(first["result"], "deferred")
            self.assertIn("killed by signal %d" % signal.SIGSEGV, first["reason"])
        finally:
            self.release(home, "crash", program)
        qt.wait_for(lambda: any(e["result"] == "delivered" for e in self.delivery_events(self.q, to)), 30,
                    "the retry to deliver")

    def test_control_timeoutprogram_bounds_a_program_and_the_delivery_is_deferred(self):
        home = self.q.home(ALICE)
        to = "alice-limit@" + DOMAIN
        with open(os.path.join(home, ".qmail-limit"), "w") as f:
            f.write(SLOW.format(n="limit"))
        self.q.write_control("timeoutprogram", "2\n")
        try:
            started = time.monotonic()
            self.sendmail(12, to)
            first = qt.wait_for(lambda: self.delivery_events(self.q, to), 30, "the first attempt's outcome")[0]
            self.assertEqual(first["result"], "deferred")
            self.assertIn("program timed out after 2 seconds", first["reason"])
            self.assertLess(time.monotonic() - started, 20)
            program = int(read(os.path.join(home, "limit.pid")).strip())
            qt.wait_for(lambda: not alive(program), 10, "the timed-out program to be killed")
        finally:
            os.unlink(self.q.path("control", "timeoutprogram"))
            with open(os.path.join(home, "limit.ok"), "w"):
                pass
        qt.wait_for(lambda: any(e["result"] == "delivered" for e in self.delivery_events(self.q, to)), 30,
                    "the retry to deliver")

    def test_a_hung_program_ignores_signals_to_the_services_and_its_end_is_retried(self):
        home = self.q.home(ALICE)
        to = "alice-hang@" + DOMAIN
        self.sendmail(11, to)
        child, program, _ = self.slow_child(home, "hang")
        try:
            with open(self.q.path("run", "queue-send.pid")) as f:
                service = int(f.read())
            server = servers(self.q)[0]
            for pid, sig in ((server, signal.SIGTERM), (server, signal.SIGHUP), (service, signal.SIGHUP)):
                os.kill(pid, sig)
            time.sleep(0.3)
            self.assertTrue(alive(child) and alive(program), "a signal to the services reached the delivery")
            self.assertEqual(self.q.pids("queue-send"), [service])
            self.assertEqual(servers(self.q), [server], "local-spawn ignores TERM: queue-send decides")
        finally:
            self.release(home, "hang", program)
        qt.wait_for(lambda: any(e["result"] == "delivered" for e in self.delivery_events(self.q, to)), 30,
                    "the retry to deliver")
        first = self.delivery_events(self.q, to)[0]
        self.assertEqual(first["result"], "deferred")
        self.assertIn("(#4.", first["reason"])

    def test_workers_are_replaced_after_100_deliveries_and_no_delivery_is_lost(self):
        dave = "dave@" + DOMAIN
        self.q.add_user(dave)
        n = 230
        qt.run_parallel(lambda i: self.sendmail(100 + i, dave), range(n), concurrency=8)
        qt.wait_for(lambda: self.q.maildir_count(dave) == n, 60, "%d deliveries" % n)
        # Every delivery succeeded at its first attempt, none went to a worker on its way out.
        # queue-send logs a delivery once its worker has answered, just after the
        # file lands in the Maildir: wait for the last lines too.
        events = qt.wait_for(lambda: (lambda ev: ev if len(ev) >= n else None)(self.delivery_events(self.q, dave)),
                             30, "%d delivery lines" % n)
        self.assertEqual([e for e in events if e["result"] != "delivered"], [])
        self.assertEqual(len(events), n)
        # The Maildir names carry the delivering process (P<pid>): no worker served more than 100.
        per_pid = {}
        for name in os.listdir(os.path.join(self.q.maildir(dave), "new")):
            pid = name.split("P", 1)[1].split("Q", 1)[0]
            per_pid[pid] = per_pid.get(pid, 0) + 1
        self.assertLessEqual(max(per_pid.values()), 100, per_pid)
        self.assertLess(len(per_pid), n // 10, "deliveries are not reusing workers: %s" % per_pid)
        # Idle workers are the server's children; none holds the scheduler's socket.
        server = servers(self.q)[0]
        workers = [p for p in self.q.pids("local-spawn") if ppid_of(p) == server]
        self.assertLessEqual(len(workers), 32)  # idle workers kept at most (man/local-spawn.8, "Workers")
        theirs = {l for p in self.q.pids("queue-send") + [server] for l in fd_links(p)}
        for w in workers:
            self.assertFalse({l for l in fd_links(w) if l.startswith("socket:")} & theirs)

    def test_a_user_added_after_up_gets_mail_without_hup(self):
        carol = "carol@" + DOMAIN
        self.q.add_user(carol)
        self.sendmail(20, carol)
        qt.wait_for(lambda: self.q.maildir_count(carol), 30, "mail for a user added after up")

    def test_a_control_file_edited_in_place_counts_for_the_next_delivery(self):
        # local-spawn keeps control/ between deliveries and reads a file again when
        # its stat changed (man/local-spawn.8, "Workers"). The hard case: an edit
        # that keeps the file's inode and size, after the kept copy has served.
        path = self.q.path("control", "virtualdomains")
        with open(path) as f:
            old = f.read()
        with open(path, "w") as f:
            f.write(old + "zzzz.test\n")
        # A copy is kept only once the files are 2 s older than their last change.
        qt.wait_for(lambda: os.stat(path).st_ctime < time.time() - 2.5, 10, "control/ to settle", interval=0.1)
        frank = "frank@" + DOMAIN
        self.q.add_user(frank)
        for i in range(4):
            self.sendmail(60 + i, frank)
        qt.wait_for(lambda: self.q.maildir_count(frank) == 4, 30, "deliveries with control/ kept")
        st = os.stat(path)
        with open(path, "r+") as f:
            f.write(old + "late.test\n")
        after = os.stat(path)
        self.assertEqual((after.st_ino, after.st_size), (st.st_ino, st.st_size))
        try:
            erin = "erin@late.test"
            self.q.add_user(erin)
            scheduler = self.q.pids("queue-send")[0]
            reloads = lambda: len([e for e in self.q.log_lines("queue-send") if e.get("event") == "reload"])  # noqa: E731
            seen = reloads()
            os.kill(scheduler, signal.SIGHUP)  # queue-send routes by its own copy; local-spawn is not told
            qt.wait_for(lambda: reloads() > seen, 10, "queue-send to reload")
            self.sendmail(70, erin)
            qt.wait_for(lambda: self.q.maildir_count(erin), 30, "mail at a domain edited into virtualdomains")
            failed = [e for e in self.delivery_events(self.q, erin) if e["result"] != "delivered"]
            self.assertEqual(failed, [])
        finally:
            with open(path, "w") as f:
                f.write(old)


class DownLeavesNothing(unittest.TestCase):
    def test_quail_down_leaves_no_process(self):
        with qt.Instance() as q:
            q.init("mx." + DOMAIN, [DOMAIN])
            q.add_user(ALICE)
            q.up()
            self.assertEqual(len(q.pids("local-spawn")), 1)
            r = q.sendmail(["-i", ALICE], qt.make_message(1))
            self.assertEqual(r.returncode, 0, r.err)
            qt.wait_for(lambda: q.maildir_count(ALICE), 30, "a delivery")
            q.quail("down")
            self.assertEqual(qt.processes_under(q.root), [], "processes left after quail down")


LOGIN = "quaills1"
# Logins added and removed all along by the churn test, each with a fixed uid so
# that none takes LOGIN's while LOGIN is out of /etc/passwd.
CHURN = ["quaillsb%d" % i for i in range(1, 4)]
LOGIN2 = "quaills2"
LOGIN3 = "quaills3"
# A .qmail that records who ran its program, then delivers to the Maildir.
RECORD = "|id -u >> uids\n./Maildir/\n"


def login_home(name, qmail=RECORD):
    """A throwaway login with ~/Maildir and ~/.qmail, all its own. The Maildir
    and the program's record are writable by anyone, so that a delivery made by
    another login's worker would succeed, and show in the owners and the record,
    instead of failing on permissions and being retried by the right one."""
    pw = qt.add_login(name, reachable="local-spawn")
    for sub in ("", "tmp", "new", "cur"):
        os.makedirs(os.path.join(pw.pw_dir, "Maildir", sub), exist_ok=True)
    with open(os.path.join(pw.pw_dir, ".qmail"), "w") as f:
        f.write(qmail)
    os.chmod(os.path.join(pw.pw_dir, ".qmail"), 0o644)
    with open(os.path.join(pw.pw_dir, "uids"), "w"):
        pass
    subprocess.run(["chown", "-R", "%d:%d" % (pw.pw_uid, pw.pw_gid), pw.pw_dir], check=True)
    for sub in ("tmp", "new", "cur"):
        os.chmod(os.path.join(pw.pw_dir, "Maildir", sub), 0o777)
    os.chmod(os.path.join(pw.pw_dir, "uids"), 0o666)
    return pw


def delivering_pid(name):
    """The pid in a Maildir file name (P<pid>): the process that delivered it."""
    return int(name.split("P", 1)[1].split("Q", 1)[0])


@unittest.skipUnless(os.geteuid() == 0, "a system install needs root")
class SystemInstall(unittest.TestCase, DeliveryChildChecks):
    # A worker of the recipient's uid, or a child when the home table has not
    # listed .qmail-slow yet: either holds no socket but its own to the server.
    WORKERS = True

    @classmethod
    def setUpClass(cls):
        cls.pw2 = login_home(LOGIN2)
        cls.pw = qt.add_login(LOGIN, reachable="local-spawn")
        home = cls.pw.pw_dir
        for sub in ("", "tmp", "new", "cur"):
            os.makedirs(os.path.join(home, "Maildir", sub), exist_ok=True)
        with open(os.path.join(home, ".qmail-slow"), "w") as f:
            f.write(SLOW.format(n="slow"))
        os.chmod(os.path.join(home, ".qmail-slow"), 0o644)
        with open(os.path.join(home, ".qmail"), "w") as f:
            f.write(RECORD)
        subprocess.run(["chown", "-R", "%d:%d" % (cls.pw.pw_uid, cls.pw.pw_gid), home], check=True)
        cls.q = qt.Instance(prefix="quail-lspawn-sys-")
        try:
            os.chmod(cls.q.tmp, 0o755)
            cls.q.init(hostname="mx.sys.test", domains=("sys.test",), extra=("--system",))
            cls.q.up(env={"QUAIL_RETRY_SCALE": "600"})
        except BaseException:
            cls.q.cleanup()
            qt.remove_login(LOGIN)
            qt.remove_login(LOGIN2)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()
        for name in (LOGIN, LOGIN2, LOGIN3):
            qt.remove_login(name)

    def new_mail(self, pw):
        return set(os.listdir(os.path.join(pw.pw_dir, "Maildir", "new")))

    def send(self, n, pw, name=None):
        to = (name or pw.pw_name) + "@mx.sys.test"
        r = self.q.sendmail(["-i", to], qt.make_message(n, to=to))
        self.assertEqual(r.returncode, 0, r.err)

    def test_workers_per_uid_never_deliver_for_another_login(self):
        logins = (self.pw, self.pw2)
        before = {pw.pw_uid: self.new_mail(pw) for pw in logins}
        n = 16
        for i in range(n):
            self.send(40 + i, logins[i % 2])
        pids = {}
        for pw in logins:
            new = os.path.join(pw.pw_dir, "Maildir", "new")
            files = qt.wait_for(lambda: (lambda f: f if len(f) >= n // 2 else None)(self.new_mail(pw) - before[pw.pw_uid]),
                                30, "%d deliveries to %s" % (n // 2, pw.pw_name))
            for f in files:
                st = os.stat(os.path.join(new, f))
                self.assertEqual((st.st_uid, st.st_gid), (pw.pw_uid, pw.pw_gid), f)
            pids[pw.pw_uid] = {delivering_pid(f) for f in files}
            # Its .qmail's program ran as the login, every time.
            uids = read(os.path.join(pw.pw_dir, "uids"), b"").split()
            self.assertGreaterEqual(len(uids), n // 2)
            self.assertEqual(set(uids), {str(pw.pw_uid).encode()})
        # No delivering process served both logins, and workers were reused
        # (a login-table change by another program in between may retire one).
        self.assertFalse(pids[self.pw.pw_uid] & pids[self.pw2.pw_uid], pids)
        self.assertLess(len(pids[self.pw.pw_uid]) + len(pids[self.pw2.pw_uid]), n, "no worker was reused: %s" % pids)

    def test_a_login_removed_then_added_again_is_refused_then_served_as_itself(self):
        pw = login_home(LOGIN3)
        try:
            self.send(60, pw)
            got = qt.wait_for(lambda: self.new_mail(pw), 30, "mail for %s" % LOGIN3)
            self.assertEqual(os.stat(os.path.join(pw.pw_dir, "Maildir", "new", got.pop())).st_uid, pw.pw_uid)
            # Gone between two deliveries: its worker serves no more, the address bounces.
            # userdel refuses a login with a running process, and an idle worker
            # is one for 2 s after its last delivery (man/local-spawn.8, "Workers").
            qt.wait_for(lambda: subprocess.run(["userdel", "-r", LOGIN3], capture_output=True).returncode == 0,
                        30, "userdel %s to succeed once its idle worker has ended" % LOGIN3, interval=0.2)
            self.send(61, pw)
            to = "<%s@mx.sys.test>" % LOGIN3
            failed = qt.wait_for(lambda: [e for e in self.delivery_events(self.q, to[1:-1])
                                          if e.get("result") == "failed"], 30, "the removed login refused")
            self.assertIn("5.1.1", failed[0]["reason"])
            # Back (its uid may be another now): its mail lands as the new login.
            pw = login_home(LOGIN3)
            self.send(62, pw)
            got = qt.wait_for(lambda: self.new_mail(pw), 30, "mail for the new %s" % LOGIN3)
            st = os.stat(os.path.join(pw.pw_dir, "Maildir", "new", got.pop()))
            self.assertEqual((st.st_uid, st.st_gid), (pw.pw_uid, pw.pw_gid))
            self.assertEqual(read(os.path.join(pw.pw_dir, "uids"), b"").split(), [str(pw.pw_uid).encode()])
        finally:
            qt.remove_login(LOGIN3)

    def test_a_delivery_runs_forked_as_its_recipient_and_hup_goes_to_queue_send(self):
        home = self.pw.pw_dir
        to = LOGIN + "-slow@mx.sys.test"
        r = self.q.sendmail(["-i", to], qt.make_message(30, to=to))
        self.assertEqual(r.returncode, 0, r.err)
        child, program, st = self.slow_child(home, "slow")
        try:
            self.assertEqual(read(os.path.join(home, "slow.uid")).strip(), str(self.pw.pw_uid).encode())
            self.assertEqual([int(x) for x in st["Uid"].split()], [self.pw.pw_uid] * 4)
            # Non-dumpable: its /proc files (mem, environ, fd/) stay root's, so no
            # process of the login can read its memory or descriptors
            # (man/local-spawn.8, "Workers").
            self.assertEqual(os.stat("/proc/%d/mem" % child).st_uid, 0, "the delivery process is dumpable")
            spawner = servers(self.q)
            self.assertEqual(len(spawner), 1)
            self.assertEqual(ppid_of(child), spawner[0], "one fork, no second one")
            self.assertEqual(status_fields(spawner[0])["Uid"].split(), ["0"] * 4)
            os.kill(spawner[0], signal.SIGHUP)  # passed on to queue-send, not to the delivery
            qt.wait_for(lambda: [e for e in self.q.log_lines("queue-send") if e.get("event") == "reload"], 10,
                        "queue-send to reload on local-spawn's SIGHUP")
            self.assertTrue(alive(child), "SIGHUP reached the delivery child")
        finally:
            self.release(home, "slow", program)
        qt.wait_for(lambda: any(e["result"] == "delivered" for e in self.delivery_events(self.q, to)), 30,
                    "the retry to deliver")

    def test_a_domain_added_to_locals_after_up_delivers_as_the_login(self):
        # queue-send routes by the locals it read at start or at its last SIGHUP
        # (queue-send(8)); local-spawn needs none: its server and workers keep
        # control/ and read it again when a stat of a file changed. The hard
        # case: the server and a worker of the login have kept the file, and
        # an edit in place keeps its inode and size.
        new = os.path.join(self.pw.pw_dir, "Maildir", "new")
        path = self.q.path("control", "locals")
        with open(path, "a") as f:
            f.write("zzzz.sys.test\n")
        qt.wait_for(lambda: os.stat(path).st_ctime < time.time() - 2.5, 10, "control/ to settle", interval=0.1)
        before = set(os.listdir(new))
        for i in range(3):
            self.send(28 + i, self.pw)
        qt.wait_for(lambda: len(set(os.listdir(new)) - before) == 3, 30, "deliveries with control/ kept")
        before = set(os.listdir(new))
        st = os.stat(path)
        with open(path, "r+") as f:
            text = f.read()
            f.seek(0)
            f.write(text.replace("zzzz.sys.test\n", "late.sys.test\n"))
        self.assertEqual((os.stat(path).st_ino, os.stat(path).st_size), (st.st_ino, st.st_size))
        scheduler = self.q.pids("queue-send")
        self.assertEqual(len(scheduler), 1)

        def reloads():
            return len([e for e in self.q.log_lines("queue-send") if e.get("event") == "reload"])
        seen = reloads()
        os.kill(scheduler[0], signal.SIGHUP)  # queue-send only: local-spawn is not told
        qt.wait_for(lambda: reloads() > seen, 10, "queue-send to reload")
        to = LOGIN + "@late.sys.test"
        r = self.q.sendmail(["-i", to], qt.make_message(31, to=to))
        self.assertEqual(r.returncode, 0, r.err)
        files = qt.wait_for(lambda: set(os.listdir(new)) - before, 30, "mail at a domain added after up")
        st = os.stat(os.path.join(new, files.pop()))
        self.assertEqual((st.st_uid, st.st_gid), (self.pw.pw_uid, self.pw.pw_gid))

    def local_deliver_events(self, to):
        return [e for e in self.q.log_lines() if e.get("prog") == "local-deliver" and e.get("to") == to]

    def test_a_login_out_of_etc_passwd_for_a_moment_is_deferred_never_bounced(self):
        # bench/README.md: two deliveries to a login bounced 5.1.1 while other logins
        # were added and removed. useradd and userdel replace /etc/passwd whole
        # (churned here all along); a writer that restores an older copy takes a
        # login's line out for a moment, and its mail must wait, not bounce.
        to = LOGIN + "@mx.sys.test"
        with open("/etc/passwd", "rb") as f:
            line = [l for l in f.read().splitlines(True) if l.startswith(LOGIN.encode() + b":")][0]
        uids = [u for u in range(61000, 61100) if not self.uid_taken(u)][:len(CHURN)]
        self.q.quail("homes")  # the table lists LOGIN now, as local-spawn's refresh does every 5 s
        new = os.path.join(self.pw.pw_dir, "Maildir", "new")
        before = set(os.listdir(new))
        stop = threading.Event()
        rounds = []

        def churn():
            while not stop.is_set():
                for name, uid in zip(CHURN, uids):
                    subprocess.run(["useradd", "-m", "-u", str(uid), name], capture_output=True)
                for name in CHURN:
                    subprocess.run(["userdel", "-r", name], capture_output=True)
                rounds.append(1)
        churner = threading.Thread(target=churn)
        churner.start()
        out = False
        try:
            qt.edit_passwd(lambda text: text.replace(line, b""))
            out = True
            for n in range(5):
                r = self.q.sendmail(["-i", to], qt.make_message(40 + n, to=to))
                self.assertEqual(r.returncode, 0, r.err)
            qt.wait_for(lambda: len(self.local_deliver_events(to)) >= 5, 30, "5 tries while the login is out")
            qt.edit_passwd(lambda text: text + line)
            out = False
            qt.wait_for(lambda: len(set(os.listdir(new)) - before) >= 5
                        or [e for e in self.local_deliver_events(to) if e["event"] == "failed"],
                        60, "the 5 messages delivered (or one bounced)")
        finally:
            if out:
                qt.edit_passwd(lambda text: text if line in text else text + line)
            stop.set()
            churner.join()
            for name in CHURN:
                qt.remove_login(name)
        events = self.local_deliver_events(to)
        self.assertEqual([e["_line"] for e in events if e["event"] == "failed"], [], "a bounce")
        self.assertGreaterEqual(len(set(os.listdir(new)) - before), 5)
        deferred = [e for e in events if e["event"] == "deferred"]
        self.assertTrue(deferred and all("4.3.0" in e["reason"] for e in deferred), events)
        self.assertTrue(rounds, "useradd/userdel ran meanwhile")

    @staticmethod
    def uid_taken(uid):
        try:
            pwd.getpwuid(uid)
            return True
        except KeyError:
            return False


if __name__ == "__main__":
    unittest.main()
