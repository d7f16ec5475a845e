"""73-resources: resource faults (issue 18). Every program answers a temporary
failure, nothing is lost, nothing bounces for our own trouble, and the mail goes
through once the fault is cleared; `quail check` is clean afterwards.

- QueueDisk: a whole root on a small tmpfs this test mounts (skipped, with the
  reason, when it cannot mount: not root), in phases on one instance:
  the free-space floor (control/queuefree: smtpd 452 4.3.1 at MAIL FROM and
  for an announced SIZE=, 451 4.3.1 when the floor is crossed during DATA,
  queue-inject 82, sendmail 111, while queue-send's bounce still gets through
  below it); a really full disk with the floor off (smtpd 451 at DATA,
  queue-inject 53, a delivery and queue-send's journal on the full disk
  deferred, and a list post's archive and distribution too); inode exhaustion (tmpfs nr_inodes); a read-only root (a read-only
  bind mount over it: the kernel refuses remount,ro while logs are open for
  writing) under smtpd, sendmail and a pending delivery.
- Limits: EMFILE (prlimit --nofile on a running queue-send, and on smtpd) and
  ENOMEM (prlimit --as on smtpd, local-deliver and queue-inject); RLIMIT_FSIZE
  (queue-inject, sendmail, local-deliver: EFBIG like a full disk, no half file);
  a read-only Maildir for delivery and for pop3d's DELE.

Over 600 lines: both classes share the helpers at the top (filling space and
inodes, SMTP transactions, the settle check), and every fault spells out what
each program must answer.
"""
import errno
import os
import re
import shutil
import smtplib
import socket
import subprocess
import time
import unittest
import poplib

import quailtest as qt

qt.require("quail", "quail-init", "quail-user", "quail-up", "quail-down", "quail-check", "sendmail", "smtpd",
           "queue-inject", "queue-send", "local-deliver", "pop3d")

DOMAIN = "example.test"
ALICE = "alice@" + DOMAIN
BOB = "bob@" + DOMAIN
LATE = "alice-late@" + DOMAIN     # .qmail-late: deferred until the gate file exists, then the Maildir
DOOMED = "alice-doomed@" + DOMAIN  # .qmail-doomed: deferred until the gate file exists, then exit 100
CAROL = "carol@" + DOMAIN
LIST = "alice-team@" + DOMAIN  # a list (archive=1) whose subscriber is carol
RETRY = {"QUAIL_RETRY_SCALE": "600"}  # retries after 0.1 s, 0.4 s, 0.9 s, ...
SENDMAIL_TEMP = 111
TIMEOUT = 30


def crlf(message):
    return message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def statvfs_free(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def leave_free(filler, mnt, free):
    """Shorten or lengthen the filler (made by qt.fill_disk) so that about `free`
    bytes are free (written, not sparse: a tmpfs hole takes no space)."""
    now = statvfs_free(mnt)
    if now < free:
        os.truncate(filler, max(0, os.path.getsize(filler) - (free - now)))
        return
    with open(filler, "ab") as f:
        left = now - free
        while left > 0:
            left -= f.write(b"\0" * min(left, 65536))


def fill_inodes(directory):
    """Create empty files in directory until the filesystem has no inode left."""
    os.makedirs(directory, exist_ok=True)
    n = 0
    while True:
        try:
            os.close(os.open(os.path.join(directory, str(n)), os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
            return n
        n += 1


def remove_tree(directory):
    for name in os.listdir(directory):
        os.unlink(os.path.join(directory, name))
    os.rmdir(directory)


def soft_nofile(pid, value=None):
    """Sets pid's soft RLIMIT_NOFILE (the hard one stays: raising it back would need
    CAP_SYS_RESOURCE, which containers often lack); returns the soft limit it had."""
    with open("/proc/%d/limits" % pid) as f:
        old = int(re.search(r"^Max open files\s+(\d+)", f.read(), re.M).group(1))
    if value is not None:
        r = subprocess.run(["prlimit", "--pid", str(pid), "--nofile=%d:" % value], capture_output=True, text=True,
                           timeout=30)
        if r.returncode != 0:
            raise unittest.SkipTest("prlimit: %s" % r.stderr.strip())
    return old


def cpu_seconds(pid):
    """User and system CPU time of pid so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def have_prlimit():
    return subprocess.run(["sh", "-c", "command -v prlimit"], capture_output=True).returncode == 0


class Client:
    """One SMTP session (smtplib) with the raw replies a test asserts on."""

    def __init__(self, port):
        self.c = smtplib.SMTP("127.0.0.1", port, local_hostname="client.example.test", timeout=TIMEOUT)
        self.c.ehlo()

    def cmd(self, line):
        code, text = self.c.docmd(line)
        return code, text.decode()

    def send(self, n, to=ALICE, size=None):
        """(code, text) of the first refusal of a whole transaction, or of its 250."""
        for line in ("MAIL FROM:<%s>" % BOB, "RCPT TO:<%s>" % to):
            code, text = self.cmd(line)
            if code != 250:
                self.cmd("RSET")
                return code, text
        code, text = self.c.data(crlf(qt.make_message(n, to=to, sender=BOB, size=size)))
        return code, text.decode()

    def close(self):
        try:
            self.c.quit()
        except (smtplib.SMTPException, OSError):
            self.c.close()


def numbers(q, addr):
    """The X-Quail-Test numbers in addr's Maildir; a bounce counts with the number of
    the message it returns (its header is inside)."""
    out = []
    for head in q.maildir_heads(addr).values():
        m = re.search(rb"X-Quail-Test: (\d+)", head)
        out.append(int(m.group(1)) if m else -1)
    return sorted(out)


def assert_check_clean(test, q):
    r = q.check()
    test.assertEqual(r.returncode, 0, "quail check: %s %s" % (r.out, r.err))


class QueueDisk(unittest.TestCase):
    """The root (queue, logs, Maildirs) on one 16 MiB tmpfs, one instance for all phases."""

    @classmethod
    def setUpClass(cls):
        cls.q = qt.Instance(prefix="quail-e2e-72-")
        cls.mnt = os.path.join(cls.q.tmp, "fs")
        cls.mount = qt.tmpfs(cls.mnt, "16m")
        try:
            cls.mount.__enter__()
        except unittest.SkipTest:
            cls.q.cleanup()
            raise
        try:
            cls.q.root = os.path.join(cls.mnt, "root")
            cls.q.init("mx." + DOMAIN, [DOMAIN])
            cls.q.add_user(ALICE)
            cls.q.add_user(BOB)
            cls.gate = os.path.join(cls.q.tmp, "gate")  # off the tmpfs: touched while it is full
            with open(os.path.join(cls.q.home(ALICE), ".qmail-late"), "w") as f:
                f.write("|test -e %s || exit 111\n./Maildir/\n" % cls.gate)
            with open(os.path.join(cls.q.home(ALICE), ".qmail-doomed"), "w") as f:
                f.write("|test -e %s || exit 111; exit 100\n" % cls.gate)
            # A list with an archive, its posts held at the same gate.
            cls.q.add_user(CAROL)
            cls.q.quail("list", "create", LIST, "--archive")
            cls.q.quail("list", "add", LIST, CAROL)
            dot = os.path.join(cls.q.home(ALICE), ".qmail-team")
            with open(dot) as f:
                lines = f.read()
            with open(dot, "w") as f:
                f.write("|test -e %s || exit 111\n" % cls.gate + lines)
            cls.port = qt.free_port()
            cls.q.up(env=RETRY, smtp="127.0.0.1:%d" % cls.port)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.q.down()  # before the unmount: nothing may hold the filesystem
        finally:
            try:
                subprocess.run(["mount", "-o", "remount,rw", cls.mnt], capture_output=True, timeout=30)
                cls.mount.__exit__(None, None, None)
            finally:
                cls.q.cleanup()

    def setUp(self):
        if os.path.exists(self.gate):
            os.unlink(self.gate)
        self.q.write_control("queuefree", "5\n")

    def sendmail(self, n, to=ALICE):
        return self.q.sendmail(["-i", "-f", BOB, to], qt.make_message(n, to=to, sender=BOB))

    def queued_ids(self):
        # A message not yet taken is named in both todo/ and mess/.
        return sorted(set(self.q.queue_entries("todo") + self.q.queue_entries("mess")))

    def assert_nothing_new_queued(self, before):
        self.assertEqual(self.queued_ids(), before, "a message was queued during the fault")
        self.assertEqual(self.q.queue_entries("tmp"), [], "a partial file was left in tmp/")

    def wait_deferred(self, qid):
        def deferred():
            try:
                with open(self.q.path("queue", "stat", qid)) as f:
                    return re.search(r"^T 0 ", f.read(), re.M)
            except FileNotFoundError:
                return None
        qt.wait_for(deferred, TIMEOUT, "a deferral of %s" % qid)

    def pending(self, to):
        """Queues one message to `to` (deferred until the gate opens); its id and number."""
        QueueDisk.n = getattr(QueueDisk, "n", 1000) + 1
        before = set(self.queued_ids())
        r = self.sendmail(self.n, to)
        self.assertEqual(r.returncode, 0, r.err)
        ids = sorted(set(self.queued_ids()) - before)
        self.assertEqual(len(ids), 1, ids)
        self.wait_deferred(ids[0])
        return ids[0], self.n

    def settle(self, expect_alice):
        """After the fault: everything delivered, no bounce, an empty queue, check clean."""
        qt.wait_for(lambda: set(expect_alice) <= set(numbers(self.q, ALICE)), 60, "delivery of %s" % expect_alice)
        qt.wait_for(self.q.queue_empty, 60, "the queue to empty")
        self.assertEqual(numbers(self.q, BOB), [], "a bounce for our own trouble")
        assert_check_clean(self, self.q)

    def test_1_free_space_floor(self):
        q = self.q
        doomed, doomed_n = self.pending(DOOMED)
        filler = qt.fill_disk(self.mnt)
        try:
            floor = os.statvfs(self.mnt).f_blocks * os.statvfs(self.mnt).f_frsize * 5 // 100
            leave_free(filler, self.mnt, floor // 2)
            before = self.queued_ids()
            c = Client(self.port)
            code, text = c.cmd("MAIL FROM:<%s>" % BOB)
            self.assertEqual((code, text[:5]), (452, "4.3.1"), "MAIL FROM below the floor: %d %s" % (code, text))
            self.assertEqual(self.sendmail(1).returncode, SENDMAIL_TEMP, "sendmail below the floor")
            # The notices' reserve is not for the asking: sendmail does not pass QUAIL_NOTICE on.
            r = q.sendmail(["-i", "-f", BOB, ALICE], qt.make_message(1, to=ALICE, sender=BOB), env={"QUAIL_NOTICE": "1"})
            self.assertEqual(r.returncode, SENDMAIL_TEMP, "sendmail with QUAIL_NOTICE=1 below the floor")
            code, err = q.queue_inject(qt.make_message(2), qt.envelope(BOB, ALICE))
            self.assertEqual(code, 82, "queue-inject below the floor: %s" % err)
            self.assertIn("insufficient system storage", err)
            self.assert_nothing_new_queued(before)
            # queue-send's bounce uses the reserve below the floor and reaches bob.
            open(self.gate, "w").close()
            qt.wait_for(lambda: numbers(q, BOB) == [doomed_n], TIMEOUT, "the bounce of %s below the floor" % doomed)
            qt.wait_for(q.queue_empty, TIMEOUT, "the doomed message to leave the queue")
            for f in q.maildir_files(BOB):
                os.unlink(f)
            # An announced SIZE= that would cross the floor, with room for a small message.
            leave_free(filler, self.mnt, floor + 300000)
            code, text = c.cmd("MAIL FROM:<%s> SIZE=1000000" % BOB)
            self.assertEqual((code, text[:5]), (452, "4.3.1"), "SIZE= across the floor: %d %s" % (code, text))
            code, text = c.send(3)
            self.assertEqual(code, 250, "a small message above the floor: %s" % text)
            # The floor crossed between MAIL FROM and the end of DATA: queue-inject refuses.
            self.assertEqual(c.cmd("MAIL FROM:<%s>" % BOB)[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE)[0], 250)
            leave_free(filler, self.mnt, floor // 2)
            code, text = c.c.data(crlf(qt.make_message(4, to=ALICE, sender=BOB)))
            self.assertEqual((code, text[:5]), (451, b"4.3.1"), "DATA across the floor: %d %s" % (code, text))
        finally:
            os.unlink(filler)
        code, text = c.send(5)
        self.assertEqual(code, 250, "the same session once space is back: %s" % text)
        c.close()
        self.assertEqual(self.sendmail(6).returncode, 0)
        self.settle([3, 5, 6])

    def test_2_full_disk(self):
        q = self.q
        q.write_control("queuefree", "0\n")  # the floor off: the writes themselves fail
        late, late_n = self.pending(LATE)
        post, post_n = self.pending(LIST)
        filler = qt.fill_disk(self.mnt)
        try:
            before = self.queued_ids()
            c = Client(self.port)
            code, text = c.send(11)
            self.assertEqual(code // 100, 4, "SMTP on a full disk: %d %s" % (code, text))
            code, text = c.send(12, size=2000000)
            self.assertEqual(code // 100, 4, "SMTP on a full disk: %d %s" % (code, text))
            c.close()
            self.assertEqual(self.sendmail(13).returncode, SENDMAIL_TEMP)
            code, err = q.queue_inject(qt.make_message(14), qt.envelope(BOB, ALICE))
            self.assertEqual(code, 53, err)
            qt.note("full disk: smtpd %s" % text)
            self.assert_nothing_new_queued(before)
            # The delivery and queue-send's journal on the full disk: deferred, not lost.
            open(self.gate, "w").close()
            time.sleep(1.2)  # retries at this scale come every few tenths of a second
            self.assertNotIn(late_n, numbers(q, ALICE), "delivered to a full disk?")
            self.assertNotIn(post_n, numbers(q, CAROL), "a list post distributed from a full disk?")
            self.assertEqual(self.queued_ids(), before, "the message left the queue while the disk was full")
        finally:
            os.unlink(filler)
        self.settle([late_n])
        qt.wait_for(lambda: post_n in numbers(q, CAROL), TIMEOUT, "the list post once space is back")
        self.assertTrue(os.listdir(os.path.join(q.home(ALICE), "lists", "team", "archive")), "the post archived")

    def test_3_inode_exhaustion(self):
        q = self.q
        late, late_n = self.pending(LATE)
        st = os.statvfs(self.mnt)
        used = st.f_files - st.f_ffree
        r = subprocess.run(["mount", "-o", "remount,nr_inodes=%d" % (used + 400), self.mnt], capture_output=True,
                           text=True, timeout=30)
        if r.returncode != 0:
            self.skipTest("tmpfs remount with nr_inodes: %s" % r.stderr.strip())
        spent = os.path.join(self.mnt, "inodes")
        accepted = []  # a file taken from queue/pool/ needs no new inode: that mail is queued
        try:
            fill_inodes(spent)
            before = self.queued_ids()
            c = Client(self.port)
            code, text = c.cmd("MAIL FROM:<%s>" % BOB)
            self.assertEqual((code, text[:5]), (452, "4.3.1"), "MAIL FROM without inodes: %d %s" % (code, text))
            self.assertEqual(self.sendmail(21).returncode, SENDMAIL_TEMP)
            self.assert_nothing_new_queued(before)
            c.close()
            q.write_control("queuefree", "0\n")  # read by the next session
            c = Client(self.port)
            code, text = c.send(22)
            smtp = "%d %s" % (code, text)
            if code == 250:
                accepted.append(22)
            else:
                self.assertEqual(code // 100, 4, "SMTP without inodes, floor off: %d %s" % (code, text))
            c.close()
            code, err = q.queue_inject(qt.make_message(23), qt.envelope(BOB, ALICE))
            if code == 0:
                accepted.append(23)
            else:
                self.assertIn(code, (53, 63), err)
            qt.note("no inodes, floor off: smtpd %s, queue-inject %d" % (smtp, code))
            self.assertEqual(q.queue_entries("tmp"), [], "a partial file was left in tmp/")
            # tmpfs counts every hard link against nr_inodes: a message queued here has
            # two names (todo/, mess/), and queue-send's take frees one. Fill again once
            # the accepted mail is taken, so the delivery meets no inode left.
            qt.wait_for(lambda: not q.queue_entries("todo"), TIMEOUT, "the accepted mail taken")
            fill_inodes(spent)
            open(self.gate, "w").close()
            time.sleep(1.2)
            self.assertNotIn(late_n, numbers(q, ALICE), "delivered without an inode?")
        finally:
            remove_tree(spent)
            subprocess.run(["mount", "-o", "remount,nr_inodes=%d" % st.f_files, self.mnt], capture_output=True,
                           timeout=30)
        self.settle([late_n] + accepted)

    def test_4_read_only_queue(self):
        # The kernel refuses `mount -o remount,ro` while files are open for writing
        # (the services' logs): a read-only bind mount over the root makes every new
        # create, rename and open for writing fail with EROFS instead, as a
        # filesystem the kernel turned read-only after an I/O error does.
        q = self.q
        late, late_n = self.pending(LATE)
        c = Client(self.port)  # a session that began before the fault
        subprocess.run(["mount", "--bind", q.root, q.root], check=True, capture_output=True, timeout=30)
        try:
            subprocess.run(["mount", "-o", "remount,bind,ro", q.root], check=True, capture_output=True, timeout=30)
            with self.assertRaises(OSError):
                open(q.path("queue", "tmp", "probe"), "w").close()
            code, text = c.send(31)
            self.assertEqual(code // 100, 4, "SMTP on a read-only queue: %d %s" % (code, text))
            c2 = Client(self.port)
            code, text = c2.send(32)
            self.assertEqual(code // 100, 4, "a new SMTP session on a read-only queue: %d %s" % (code, text))
            c2.close()
            self.assertEqual(self.sendmail(33).returncode, SENDMAIL_TEMP)
            code, err = q.queue_inject(qt.make_message(34), qt.envelope(BOB, ALICE))
            qt.note("read-only: smtpd %s, queue-inject %d" % (text, code))
            self.assertNotEqual(code, 0, err)
            self.assertFalse(11 <= code <= 40, "a permanent code on a read-only queue: %d %s" % (code, err))
            open(self.gate, "w").close()
            time.sleep(1.2)
            self.assertNotIn(late_n, numbers(q, ALICE), "delivered to a read-only filesystem?")
        finally:
            if subprocess.run(["umount", q.root], capture_output=True, timeout=30).returncode != 0:
                subprocess.run(["umount", "-l", q.root], check=True, capture_output=True, timeout=30)
        code, text = c.send(35)
        self.assertEqual(code, 250, "the same session once the filesystem is writable: %s" % text)
        c.close()
        self.settle([late_n, 35])

class Limits(unittest.TestCase):
    """Per-process limits (prlimit) and a read-only Maildir, on one instance in /tmp."""

    @classmethod
    def setUpClass(cls):
        if not have_prlimit():
            raise unittest.SkipTest("prlimit (util-linux) is not installed")
        cls.q = qt.Instance(prefix="quail-e2e-72-")
        try:
            cls.q.init("mx." + DOMAIN, [DOMAIN])
            cls.q.add_user(ALICE)
            cls.q.add_user(BOB)
            cls.port = qt.free_port()
            cls.pop_port = qt.free_port()
            cls.q.up(env=RETRY, smtp="127.0.0.1:%d" % cls.port, pop3="127.0.0.1:%d" % cls.pop_port)
        except BaseException:
            cls.q.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()

    def service_pid(self, name):
        with open(self.q.path("run", name + ".pid")) as f:
            return int(f.read().strip())

    def smtpd(self, *limits):
        """smtpd under prlimit on a socketpair, as tcpserver runs it: (process, smtplib client)."""
        a, b = socket.socketpair()
        env = self.q.env({"TCPREMOTEIP": "127.0.0.1", "TCPREMOTEPORT": "40000", "TCPLOCALIP": "127.0.0.1"})
        p = subprocess.Popen(["prlimit"] + list(limits) + ["--", qt.bin_path("smtpd")], stdin=b, stdout=b,
                             stderr=subprocess.DEVNULL, env=env)
        b.close()
        a.settimeout(TIMEOUT)
        c = smtplib.SMTP(local_hostname="client.example.test", timeout=TIMEOUT)
        c.sock, c.file = a, None
        return p, c

    def smtp_dialog(self, n, *limits, size=None):
        """One transaction through smtpd under limits: the replies, and whether it queued."""
        p, c = self.smtpd(*limits)
        replies = []
        try:
            replies.append(c.getreply()[0])
            for line in ("EHLO client.example.test", "MAIL FROM:<%s>" % BOB, "RCPT TO:<%s>" % ALICE):
                code = c.docmd(line)[0]
                replies.append(code)
                if code != 250:
                    break
            else:
                replies.append(c.data(crlf(qt.make_message(n, to=ALICE, sender=BOB, size=size)))[0])
            c.quit()
        except smtplib.SMTPResponseException as e:  # DATA refused before 354, or the session closed
            replies.append(e.smtp_code)
        except (smtplib.SMTPException, OSError):
            replies.append("lost")  # the session died: the client keeps the message and tries again
        finally:
            c.close()
            p.wait(TIMEOUT)
        return replies

    def settle(self, expect):
        qt.wait_for(lambda: set(expect) <= set(numbers(self.q, ALICE)), 60, "delivery of %s" % expect)
        qt.wait_for(self.q.queue_empty, 60, "the queue to empty")
        self.assertEqual(numbers(self.q, BOB), [], "a bounce for our own trouble")
        assert_check_clean(self, self.q)

    def test_emfile_in_queue_send(self):
        q = self.q
        pid = self.service_pid("queue-send")
        fds = len(os.listdir("/proc/%d/fd" % pid))
        old = soft_nofile(pid, fds)
        try:
            r = q.sendmail(["-i", "-f", BOB, ALICE], qt.make_message(41, to=ALICE, sender=BOB))
            self.assertEqual(r.returncode, 0, r.err)
            cpu0, t0 = cpu_seconds(pid), time.monotonic()
            time.sleep(1.2)
            self.assertNotIn(41, numbers(q, ALICE), "delivered without a file descriptor?")
            self.assertIn(pid, q.pids("queue-send"), "queue-send died of EMFILE")
            busy = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
            self.assertLess(busy, 0.5, "queue-send spins on EMFILE: %.0f %% of a CPU" % (100 * busy))
        finally:
            soft_nofile(pid, old)
        q.sendmail(["-i", "-f", BOB, ALICE], qt.make_message(42, to=ALICE, sender=BOB))  # wakes it up
        self.settle([41, 42])

    def test_emfile_in_smtpd(self):
        seen = {}
        for nofile in (4, 5, 6, 7, 8, 10, 12):
            replies = self.smtp_dialog(50 + nofile, "--nofile=%d" % nofile)
            seen[nofile] = replies
            self.assertFalse([r for r in replies if r != "lost" and r >= 500],
                             "a permanent reply at nofile=%d: %s" % (nofile, replies))
            if replies[-1:] == [250] and len(replies) == 5:
                self.settle([50 + nofile])
        qt.note("smtpd replies by RLIMIT_NOFILE: %s" % seen)
        self.assertEqual(self.q.queue_entries("tmp"), [])

    def test_enomem_in_smtpd_and_local_deliver(self):
        q = self.q
        delivered, seen = [], {}
        for mib in (1, 2, 4):
            replies = self.smtp_dialog(60 + mib, "--as=%d" % (mib << 20), size=3000000)
            self.assertFalse([r for r in replies if r != "lost" and r >= 500],
                             "a permanent reply at %d MiB: %s" % (mib, replies))
            seen[mib] = replies
            if replies[-1:] == [250] and len(replies) == 5:
                delivered.append(60 + mib)
        qt.note("smtpd replies by RLIMIT_AS MiB (3 MB message): %s" % seen)
        # local-deliver run as queue-send runs it, its address space limited.
        msg = qt.make_message(70, to=ALICE, sender=BOB, size=3000000)
        path = os.path.join(q.tmp, "msg")
        with open(path, "wb") as f:
            f.write(msg)
        codes = {}
        for kib in (512, 1024, 2048, 8192):
            mib = kib / 1024
            # Count copies of message 70 only: queue-send may be delivering the SMTP
            # messages above to alice at the same time.
            before = numbers(q, ALICE).count(70)
            with open(path, "rb") as f:
                r = subprocess.run(["prlimit", "--as=%d" % (kib << 10), "--", qt.bin_path("local-deliver"),
                                    "d%d" % kib, str(len(msg)), BOB, ALICE], stdin=f, capture_output=True,
                                   env=q.env(), timeout=60)
            codes[mib] = r.returncode
            self.assertNotEqual(r.returncode, 100, "local-deliver at %g MiB: permanent %s" % (mib, r.stdout))
            got = numbers(q, ALICE).count(70) - before
            self.assertEqual(got, 1 if r.returncode in (0, 99) else 0,
                             "local-deliver at %g MiB exited %d with %d new message(s)" % (mib, r.returncode, got))
        qt.note("local-deliver exit by RLIMIT_AS MiB: %s" % codes)
        # queue-inject (static, no allocation per octet) the same way.
        codes = {}
        for mib in (1, 2, 4):
            before = len(q.queue_entries("todo")) + len(q.queue_entries("mess"))
            code, err = qt.run_with_envelope(["prlimit", "--as=%d" % (mib << 20), "--", qt.bin_path("queue-inject")],
                                             qt.make_message(90 + mib, to=ALICE, sender=BOB, size=3000000),
                                             qt.envelope(BOB, ALICE), env=q.env())
            codes[mib] = code
            self.assertFalse(11 <= code <= 40, "queue-inject at %d MiB: permanent %d %s" % (mib, code, err))
            if code == 0:
                delivered.append(90 + mib)
            self.assertEqual(q.queue_entries("tmp"), [], "queue-inject at %d MiB left tmp/ debris" % mib)
        qt.note("queue-inject exit by RLIMIT_AS MiB: %s" % codes)
        self.settle(delivered)

    def test_file_size_limit_is_a_full_disk(self):
        # RLIMIT_FSIZE: what a test without root can do to make a disk "full". A write
        # past it must fail like one (EFBIG: a temporary code, the half file removed),
        # not kill the program with SIGXFSZ and leave the half file behind.
        q = self.q
        msg = qt.make_message(95, to=ALICE, sender=BOB, size=1000000)
        code, err = qt.run_with_envelope(["prlimit", "--fsize=100000", "--", qt.bin_path("queue-inject")], msg,
                                         qt.envelope(BOB, ALICE), env=q.env())
        self.assertEqual(code, 53, "queue-inject over RLIMIT_FSIZE: %d %s" % (code, err))
        self.assertEqual(q.queue_entries("tmp"), [], "queue-inject over RLIMIT_FSIZE left its file in tmp/")
        r = q.run([shutil.which("prlimit"), "--fsize=100000", "--", qt.bin_path("sendmail"), "-i", "-f", BOB, ALICE], input=msg,
                  check=False)
        self.assertEqual(r.returncode, SENDMAIL_TEMP, "sendmail over RLIMIT_FSIZE: %s" % r.err)
        path = os.path.join(q.tmp, "msg95")
        with open(path, "wb") as f:
            f.write(msg)
        before = q.maildir_files(ALICE, subdirs=("tmp", "new", "cur"))
        with open(path, "rb") as f:
            r = subprocess.run(["prlimit", "--fsize=100000", "--", qt.bin_path("local-deliver"), "d95", str(len(msg)),
                                BOB, ALICE], stdin=f, capture_output=True, env=q.env(), timeout=60)
        self.assertEqual(r.returncode, 111, "local-deliver over RLIMIT_FSIZE: %s" % r.stdout)
        self.assertEqual(q.maildir_files(ALICE, subdirs=("tmp", "new", "cur")), before,
                         "local-deliver over RLIMIT_FSIZE left a file in the Maildir")
        self.assertEqual(q.queue_entries("todo") + q.queue_entries("mess"), [], "queued over RLIMIT_FSIZE?")
        assert_check_clean(self, q)

    def test_read_only_maildir_defers_delivery_and_pop3d_deletes_nothing(self):
        q = self.q
        box = q.maildir(BOB)
        with qt.tmpfs(box, "4m"):
            for sub in ("tmp", "new", "cur"):
                os.makedirs(os.path.join(box, sub), exist_ok=True)
            q.sendmail(["-i", "-f", ALICE, BOB], qt.make_message(81, to=BOB, sender=ALICE))
            qt.wait_for(lambda: len(q.maildir_files(BOB)) == 1, TIMEOUT, "the first delivery")
            subprocess.run(["mount", "-o", "remount,ro", box], check=True, capture_output=True, timeout=30)
            try:
                r = q.sendmail(["-i", "-f", ALICE, BOB], qt.make_message(82, to=BOB, sender=ALICE))
                self.assertEqual(r.returncode, 0, r.err)
                p = poplib.POP3("127.0.0.1", self.pop_port, timeout=TIMEOUT)
                try:
                    p.user(BOB)
                    try:
                        p.pass_("secret-password")
                    except poplib.error_proto as e:  # a login may be refused for now instead
                        self.assertIn(b"[SYS/TEMP]", e.args[0])
                        pop3 = "login " + e.args[0].decode()
                    else:
                        self.assertEqual(p.stat()[0], 1)
                        p.dele(1)
                        with self.assertRaises(poplib.error_proto, msg="QUIT on a read-only Maildir said +OK") as e:
                            p.quit()
                        self.assertIn(b"[SYS/TEMP]", e.exception.args[0])
                        pop3 = "QUIT " + e.exception.args[0].decode()
                    qt.note("pop3d on a read-only Maildir: %s" % pop3)
                finally:
                    p.close()
                time.sleep(1.2)
                self.assertEqual(len(q.maildir_files(BOB)), 1, "pop3d deleted, or queue-send delivered, on ro")
                self.assertNotIn(82, numbers(q, ALICE), "a bounce for a read-only Maildir")
            finally:
                subprocess.run(["mount", "-o", "remount,rw", box], check=True, capture_output=True, timeout=30)
            qt.wait_for(lambda: len(q.maildir_files(BOB)) == 2, 60, "delivery once the Maildir is writable")
            qt.wait_for(q.queue_empty, 60, "the queue to empty")
            q.down()  # nothing may hold the Maildir when it is unmounted
        q.up(env=RETRY)
        self.assertEqual([n for n in numbers(q, ALICE) if n in (81, 82)], [], "a bounce for our own trouble")
        assert_check_clean(self, q)


if __name__ == "__main__":
    unittest.main()
