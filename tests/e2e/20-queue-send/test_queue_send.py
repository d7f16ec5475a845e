"""20-queue-send: the scheduler daemon against real queue-inject and local-deliver.

Self-contained: builds its own small root (control files, users.cdb written here,
virtual homes, ROOT/bin of symlinks to QUAIL_BIN), injects with queue-inject,
runs queue-send in the foreground with QUAIL_READY_FD and QUAIL_RETRY_SCALE, and
checks Maildirs, the queue directories and queue-send's logfmt log. Covers:
delivery, a temporary failure then a retry, a permanent failure and its RFC 3464
bounce, a failed bounce going to the postmaster, a failed double bounce dropped,
DSN NOTIFY=NEVER, held remote recipients released on HUP (a fake remote-deliver),
TERM waiting for a running delivery, and the start-up backlog.
"""
import sys
sys.dont_write_bytecode = True
import email
import email.policy
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import quailtest as qt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
BIN = os.path.abspath(os.environ.get("QUAIL_BIN", os.path.join(REPO, "build", "bin")))
NEEDED = ("queue-send", "queue-inject", "local-deliver")
ME = "mx.example.test"
DOMAIN = "example.test"
SCALE = "60"  # retries 1 s, 4 s, 9 s ... after birth


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(delay)
        delay = min(delay * 1.5, 0.2)


FAKE_REMOTE = r"""#!/usr/bin/python3
# A stand-in for remote-deliver as a kept run (man/queue-send.8, KEPT REMOTE RUNS):
# one job per packet on fd 0 (dlv, length, envelope indexes; the queue file
# attached), one qmail-remote report per job on fd 1, until end of stream.
import array, os, socket, sys, time
dom = sys.argv[1]
sock = socket.socket(fileno=0)
while True:
    data, anc, _, _ = sock.recvmsg(65536, socket.CMSG_SPACE(4 * 4))
    if not data:
        break
    fds = array.array("i")
    for level, kind, blob in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(blob[:len(blob) - len(blob) %% fds.itemsize])
    fields = data.split(b"\0")[:-1]
    dlv, length, idx = fields[0].decode(), int(fields[1]), [int(x) for x in fields[2:]]
    with os.fdopen(fds[0], "rb") as f:
        message = f.read(length)
        env = f.read().split(b"\0")
    sender = env[0][1:].decode()
    everyone = [r[1:].decode() for r in env if r.startswith(b"T")]
    rcpts = [everyone[i] for i in idx]
%(body)s
    os.write(1, report)
"""


def fake_remote_deliver(path, body):
    """Writes a python stand-in for remote-deliver at path: body (indented four
    spaces) sees dom, dlv, sender, rcpts and message and sets report (bytes)."""
    with open(path, "w") as f:
        f.write(FAKE_REMOTE % {"body": body})
    os.chmod(path, 0o755)


def cdb_bytes(pairs):
    """A djb cdb file holding pairs (bytes key, bytes value)."""
    def h(k):
        v = 5381
        for c in k:
            v = ((v << 5) + v) & 0xffffffff ^ c
        return v
    body = b""
    tables = [[] for _ in range(256)]
    pos = 2048
    for k, v in pairs:
        rec = struct.pack("<II", len(k), len(v)) + k + v
        tables[h(k) & 255].append((h(k), pos))
        body += rec
        pos += len(rec)
    head = b""
    tail = b""
    for t in tables:
        n = len(t) * 2
        slots = [(0, 0)] * n
        for hv, p in t:
            i = (hv >> 8) % n
            while slots[i][1]:
                i = (i + 1) % n
            slots[i] = (hv, p)
        head += struct.pack("<II", pos + len(tail), n)
        tail += b"".join(struct.pack("<II", a, b) for a, b in slots)
    return head + body + tail


def parse_log(text):
    out = []
    for line in text.splitlines():
        rec = {}
        for m in re.finditer(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)', line):
            v = m.group(2)
            if v.startswith('"'):
                v = v[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            rec[m.group(1)] = v
        out.append(rec)
    return out


class Root:
    """A fresh quail root with virtual users at example.test and a queue-send to drive."""

    def __init__(self, users=("alice", "bob"), control=None):
        self.dir = tempfile.mkdtemp(prefix="quail-e2e-qs-")
        self.proc = None
        self.log_path = os.path.join(self.dir, "log", "queue-send.log")
        for d in ("control", "users", "log", "run", "mail", "bin", "queue/tmp", "queue/todo",
                  "queue/mess", "queue/stat", "queue/lock"):
            os.makedirs(os.path.join(self.dir, d))
        os.mkfifo(os.path.join(self.dir, "queue/lock/trigger"), 0o622)
        for prog in ("queue-inject", "local-deliver", "queue-send"):
            os.symlink(os.path.join(BIN, prog), os.path.join(self.dir, "bin", prog))
        files = {"me": ME, "locals": ME, "virtualdomains": DOMAIN, "rcpthosts": DOMAIN}
        files.update(control or {})
        for name, value in files.items():
            self.write("control/" + name, value + "\n")
        pairs = []
        for u in users:
            pairs.append((("%s@%s" % (u, DOMAIN)).encode(), b"$argon2id$v=19$m=65536,t=2,p=1$x$y"))
            self.maildir("mail/%s/%s" % (DOMAIN, u))
        self.maildir("mail/postmaster")
        with open(os.path.join(self.dir, "users/users.cdb"), "wb") as f:
            f.write(cdb_bytes(pairs))
        with open(os.path.join(self.dir, "users/aliases.cdb"), "wb") as f:
            f.write(cdb_bytes([]))

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def write(self, rel, text, mode=0o644):
        with open(self.path(rel), "w") as f:
            f.write(text)
        os.chmod(self.path(rel), mode)

    def maildir(self, rel):
        for sub in ("new", "cur", "tmp"):
            os.makedirs(self.path(rel, "Maildir", sub), exist_ok=True)

    def home(self, user):
        return self.path("mail", DOMAIN, user)

    def mailbox(self, user):
        """Messages in a Maildir's new/ (user "postmaster" is the postmaster's), parsed."""
        d = self.path("mail", "postmaster") if user == "postmaster" else self.home(user)
        out = []
        for n in sorted(os.listdir(os.path.join(d, "Maildir", "new"))):
            with open(os.path.join(d, "Maildir", "new", n), "rb") as f:
                out.append(email.message_from_bytes(f.read(), policy=email.policy.default))
        return out

    def inject(self, sender, rcpts, body=None, msg_ext=b""):
        """Runs queue-inject; rcpts are addresses or (address, b"Xnotify=NEVER\\0") pairs."""
        env = b"F" + sender.encode() + b"\0" + msg_ext
        for r in rcpts:
            addr, ext = (r, b"") if isinstance(r, str) else r
            env += b"T" + addr.encode() + b"\0" + ext
        env += b"\0"
        if body is None:
            body = b"From: %s\nTo: %s\nSubject: test\nMessage-ID: <%d@test>\n\nhello\n" % (
                sender.encode() or b"<>", b", ".join((r if isinstance(r, str) else r[0]).encode() for r in rcpts),
                time.time_ns())
        r, w = os.pipe()
        os.write(w, env)
        os.close(w)
        try:
            p = subprocess.run([self.path("bin", "queue-inject")], input=body, stdout=r, stderr=subprocess.PIPE,
                               env=dict(os.environ, QUAIL_ROOT=self.dir), timeout=20)
        finally:
            os.close(r)
        m = re.search(rb"msg=(\w+)", p.stderr)
        assert p.returncode == 0, "queue-inject exited %d: %r" % (p.returncode, p.stderr)
        return m.group(1).decode()

    def start(self, env=None):
        rfd, wfd = os.pipe()
        e = dict(os.environ, QUAIL_ROOT=self.dir, QUAIL_READY_FD=str(wfd), QUAIL_RETRY_SCALE=SCALE)
        e.update(env or {})
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.path("bin", "queue-send")], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.logf, env=e, pass_fds=(wfd,))
        os.close(wfd)
        try:
            import select
            ready, _, _ = select.select([rfd], [], [], 10)
            assert ready and os.read(rfd, 1) == b"\n", "queue-send did not signal readiness: " + self.log_text()
        finally:
            os.close(rfd)

    def stop(self, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc:
            self.logf.close()
        return self.proc.returncode if self.proc else None

    def cleanup(self):
        try:
            self.stop()
        finally:
            if os.environ.get("QUAIL_KEEP") != "1":
                shutil.rmtree(self.dir, ignore_errors=True)

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def events(self, **match):
        return [r for r in parse_log(self.log_text())
                if r.get("prog") == "queue-send" and all(r.get(k) == v for k, v in match.items())]

    def craft(self, where, sender, rcpts, birth_ns, journal=None):
        """Writes a queue file straight into todo/ or mess/ (named by its inode, as
        queue-inject would), with an optional stat/ journal; returns its id. rcpts are
        addresses or (address, b"Xnotify=SUCCESS\\0") pairs, as for inject(). The id
        is the message id (its file is named by the inode inside it)."""
        body = b"Received: (crafted)\nSubject: crafted\n\ncrafted\n"
        env = b"F" + sender.encode() + b"\0"
        for r in rcpts:
            addr, ext = (r, b"") if isinstance(r, str) else r
            env += b"T" + addr.encode() + b"\0" + ext
        env += b"\0"
        tmp = self.path("queue", "tmp", "crafted")
        with open(tmp, "wb") as f:
            f.write(b"QUAIL-QUEUE 1 %020d %020d\n" % (len(body), birth_ns) + body + env)
            qid = str(os.fstat(f.fileno()).st_ino)
        os.rename(tmp, self.path("queue", where, qid))
        if journal is not None:
            self.write("queue/stat/" + qid, "quail-stat 1 %d\n%s" % (birth_ns, journal))
        return qt.message_id(qid, birth_ns)

    def queue_empty(self):
        return not any(os.listdir(self.path("queue", d)) for d in ("todo", "mess", "stat"))


class QueueSendTest(unittest.TestCase):
    def setUp(self):
        missing = [p for p in NEEDED if not os.access(os.path.join(BIN, p), os.X_OK)]
        if missing:
            raise unittest.SkipTest("program(s) not built: %s (looked in %s)" % (", ".join(missing), BIN))

    def root(self, **kw):
        r = Root(**kw)
        self.addCleanup(r.cleanup)
        return r

    def test_delivery_and_log_follow_the_message(self):
        r = self.root()
        r.start()
        qid = r.inject("bob@example.test", ["alice@example.test"])
        wait_for(lambda: r.mailbox("alice"), 10, "delivery to alice")
        wait_for(lambda: r.events(msg=qid, event="done"), 10, "event=done")
        self.assertTrue(r.queue_empty(), os.listdir(r.path("queue", "mess")))
        verbs = [e["event"] for e in r.events(msg=qid)]
        self.assertEqual(verbs, ["taken", "delivery", "done"])
        d = r.events(msg=qid, event="delivery")[0]
        self.assertEqual((d["to"], d["result"]), ("<alice@example.test>", "delivered"))
        self.assertTrue(d["dlv"].isdigit())
        self.assertEqual(r.mailbox("alice")[0]["Subject"], "test")
        self.assertEqual(r.stop(), 0)

    def test_temporary_failure_then_retry(self):
        r = self.root()
        r.write("mail/%s/alice/.qmail" % DOMAIN, "|exit 111\n")
        r.start()
        qid = r.inject("bob@example.test", ["alice@example.test"])
        wait_for(lambda: r.events(msg=qid, event="delivery", result="deferred"), 10, "a deferral")
        self.assertTrue(os.path.exists(r.path("queue", "mess", qt.inode_of(qid))))
        with open(r.path("queue", "stat", qt.inode_of(qid))) as f:
            journal = f.read()
        self.assertRegex(journal, r"^quail-stat 1 \d+\nT 0 \d+ ")
        r.write("mail/%s/alice/.qmail" % DOMAIN, "./Maildir/\n")
        wait_for(lambda: r.mailbox("alice"), 15, "delivery on retry")
        wait_for(lambda: r.events(msg=qid, event="done"), 10, "event=done")
        self.assertFalse(r.mailbox("bob"), "no bounce for a temporary failure")
        wait_for(r.queue_empty, 10, "an empty queue")

    def test_permanent_failure_bounces_as_multipart_report(self):
        r = self.root()
        r.start()
        qid = r.inject("bob@example.test", ["nobody@example.test", "alice@example.test"])
        box = wait_for(lambda: r.mailbox("bob"), 15, "the bounce in bob's mailbox")
        wait_for(lambda: r.events(msg=qid, event="done"), 10, "event=done")
        self.assertEqual(len(r.mailbox("alice")), 1)
        b = box[0]
        self.assertEqual(b.get_content_type(), "multipart/report")
        self.assertEqual(b.get_param("report-type"), "delivery-status")
        self.assertEqual(b["From"], "MAILER-DAEMON@" + ME)
        self.assertEqual(b["To"], "bob@example.test")
        parts = list(b.iter_parts())
        self.assertEqual([p.get_content_type() for p in parts],
                         ["text/plain", "message/delivery-status", "message/rfc822"])
        self.assertIn("nobody@example.test", parts[0].get_content())
        blocks = parts[1].get_payload()  # per-message block, then one per recipient
        self.assertEqual(blocks[0]["Reporting-MTA"], "dns; " + ME)
        self.assertTrue(blocks[0]["Arrival-Date"])
        self.assertEqual(len(blocks), 2)
        self.assertEqual(blocks[1]["Final-Recipient"], "rfc822; nobody@example.test")
        self.assertEqual(blocks[1]["Action"], "failed")
        self.assertEqual(blocks[1]["Status"], "5.1.1")
        original = parts[2].get_payload()[0]
        self.assertEqual(original["Subject"], "test")
        self.assertTrue(r.events(msg=qid, event="bounce"))
        wait_for(r.queue_empty, 10, "an empty queue")

    def test_headers_only_and_notify_never(self):
        r = self.root()
        r.start()
        body = b"Subject: secret\n\nthe body must not come back\n"
        qid = r.inject("bob@example.test", ["nobody@example.test", ("nobody2@example.test", b"Xnotify=NEVER\0")],
                       body=body, msg_ext=b"Xret=HDRS\0")
        box = wait_for(lambda: r.mailbox("bob"), 15, "the bounce")
        wait_for(lambda: r.events(msg=qid, event="done"), 10, "event=done")
        parts = list(box[0].iter_parts())
        self.assertEqual(parts[2].get_content_type(), "text/rfc822-headers")
        self.assertNotIn(b"must not come back", box[0].as_bytes())
        blocks = parts[1].get_payload()
        self.assertEqual([b["Final-Recipient"] for b in blocks[1:]], ["rfc822; nobody@example.test"])

    def test_failed_bounce_goes_to_postmaster_and_failed_double_bounce_is_dropped(self):
        r = self.root()
        r.start()
        qid = r.inject("ghost@example.test", ["nobody@example.test"])
        box = wait_for(lambda: r.mailbox("postmaster"), 20, "the double bounce at the postmaster")
        wait_for(lambda: r.events(msg=qid, event="done"), 10, "event=done")
        self.assertEqual(box[0].get_content_type(), "multipart/report")
        self.assertEqual(box[0]["To"], "postmaster@" + ME)
        doubles = [e for e in r.events(event="bounce") if e.get("kind") == "double"]
        self.assertEqual(len(doubles), 1)
        r.stop()

        # The postmaster address itself fails: the double bounce is dropped, never looped.
        r2 = self.root(control={"doublebounceto": "nobody-at-all"})
        r2.start()
        r2.inject("ghost@example.test", ["nobody@example.test"])
        wait_for(lambda: r2.events(event="dropped"), 20, "event=dropped")
        wait_for(r2.queue_empty, 10, "an empty queue")
        time.sleep(0.5)
        self.assertTrue(r2.queue_empty())
        self.assertEqual(len(r2.events(event="taken")), 3)  # original, bounce, double bounce

    def test_remote_recipients_are_held_until_hup_finds_remote_deliver(self):
        r = self.root()
        r.start()
        qid = r.inject("bob@example.test", ["carol@remote.test", "alice@example.test"])
        wait_for(lambda: r.events(msg=qid, event="held"), 10, "event=held")
        wait_for(lambda: r.mailbox("alice"), 10, "the local recipient's delivery")
        time.sleep(0.3)
        self.assertTrue(os.path.exists(r.path("queue", "mess", qt.inode_of(qid))), "a held message stays queued")
        with open(r.path("queue", "stat", qt.inode_of(qid))) as f:
            self.assertIn("D 1\n", f.read())
        self.assertFalse(r.mailbox("bob"), "held recipients are never bounced")
        fake = r.path("bin", "remote-deliver")
        out = r.path("remote.out")
        fake_remote_deliver(fake, "    open(%r + '.args', 'w').write(' '.join([dom, sender] + rcpts))\n"
                                  "    open(%r, 'wb').write(message)\n"
                                  "    report = b'r\\0Kaccepted by fake (#2.0.0)\\0'" % (out, out))
        r.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: r.events(msg=qid, event="done"), 10, "event=done after HUP")
        d = r.events(msg=qid, event="delivery", to="<carol@remote.test>")
        self.assertEqual(d[0]["result"], "delivered")
        with open(out + ".args") as f:
            self.assertEqual(f.read().split(), ["remote.test", "bob@example.test", "carol@remote.test"])
        with open(out, "rb") as f:
            sent = f.read()
        self.assertTrue(sent.startswith(b"Received: (quail-queue "))
        self.assertTrue(sent.endswith(b"hello\n"), sent[-40:])
        self.assertTrue(r.events(event="reload"))
        wait_for(r.queue_empty, 10, "an empty queue")

    def test_term_waits_for_running_delivery(self):
        r = self.root()
        r.write("mail/%s/alice/.qmail" % DOMAIN, "|sleep 2\n./Maildir/\n")
        r.start()
        qid = r.inject("bob@example.test", ["alice@example.test"])
        wait_for(lambda: r.events(msg=qid, event="taken"), 10, "event=taken")
        time.sleep(0.5)
        t0 = time.monotonic()
        r.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        self.assertIsNone(r.proc.poll(), "queue-send exited before its delivery ended")
        self.assertEqual(r.proc.wait(15), 0)
        self.assertGreater(time.monotonic() - t0, 1.0)
        self.assertEqual(len(r.mailbox("alice")), 1)
        verbs = [e["event"] for e in r.events()]
        self.assertLess(verbs.index("delivery"), verbs.index("stop"))
        wait_for(r.queue_empty, 10, "an empty queue")

    def test_expired_recipient_fails_with_5_4_7(self):
        r = self.root()
        r.write("mail/%s/alice/.qmail" % DOMAIN, "|exit 111\n")
        eight_days = 8 * 86400 * 10**9
        qid = r.craft("todo", "bob@example.test", ["alice@example.test"], time.time_ns() - eight_days)
        r.start()
        box = wait_for(lambda: r.mailbox("bob"), 15, "the expiry bounce")
        wait_for(lambda: r.events(msg=qid, event="done"), 10, "event=done")
        blocks = list(box[0].iter_parts())[1].get_payload()
        self.assertEqual(blocks[1]["Status"], "5.4.7")
        self.assertIn("program exited 111", blocks[1]["Diagnostic-Code"])
        wait_for(r.queue_empty, 10, "an empty queue")

    def test_journal_outcomes_survive_a_restart(self):
        r = self.root(users=("alice", "bob", "carol"))
        birth = time.time_ns() - 10**9
        # alice was delivered and carol failed (and bounced) by an earlier run; bob is due.
        qid = r.craft("mess", "dave@example.test", ["alice@example.test", "bob@example.test", "carol@example.test"],
                      birth, "D 0\nF 2 gone (#5.1.1)\nB\n")
        stale = r.craft("mess", "dave@example.test", ["alice@example.test"], birth)
        r.write("queue/stat/" + qt.inode_of(stale), "quail-stat 1 12345\nD 0\n")  # an earlier message's journal
        r.start()
        wait_for(lambda: r.events(msg=qid, event="done"), 15, "event=done")
        wait_for(lambda: r.events(msg=stale, event="done"), 15, "event=done for the stale-journal message")
        self.assertEqual(len(r.mailbox("bob")), 1)
        self.assertEqual(len(r.mailbox("alice")), 1)  # only the second message's copy
        self.assertEqual(len(r.mailbox("carol")), 0)
        self.assertEqual([e["to"] for e in r.events(msg=qid, event="delivery")], ["<bob@example.test>"])
        self.assertFalse(r.events(event="bounce"))
        wait_for(r.queue_empty, 10, "an empty queue")

    def test_a_second_queue_send_on_one_queue_is_refused(self):
        r = self.root()
        r.start()
        p = subprocess.run([r.path("bin", "queue-send")], env=dict(os.environ, QUAIL_ROOT=r.dir),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=10)
        self.assertEqual(p.returncode, 111)
        self.assertIn(b"another queue-send", p.stderr)
        self.assertIsNone(r.proc.poll())

    @unittest.skipUnless(os.geteuid() == 0 and os.access(os.path.join(BIN, "local-spawn"), os.X_OK),
                         "needs root and local-spawn (system installs)")
    def test_local_deliveries_through_local_spawn(self):
        r = self.root()
        os.symlink(os.path.join(BIN, "local-spawn"), r.path("bin", "local-spawn"))
        subprocess.run(["chown", "-R", "nobody:nogroup", r.dir], check=True)
        os.chmod(r.dir, 0o755)
        r.logf = open(r.log_path, "ab")
        r.proc = subprocess.Popen([r.path("bin", "local-spawn"), "nobody", r.path("bin", "queue-send")],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=r.logf,
                                  env=dict(os.environ, QUAIL_ROOT=r.dir, QUAIL_RETRY_SCALE=SCALE))
        wait_for(lambda: r.events(event="start", lspawn="yes"), 10, "queue-send started by local-spawn")
        body = b"Subject: via local-spawn\n\nhi\n"
        rd, w = os.pipe()
        os.write(w, b"Fbob@example.test\0Talice@example.test\0Tnobody@example.test\0\0")
        os.close(w)
        try:
            p = subprocess.run([r.path("bin", "queue-inject")], input=body, stdout=rd, stderr=subprocess.PIPE,
                               env=dict(os.environ, QUAIL_ROOT=r.dir), user="nobody", group="nogroup", timeout=20)
        finally:
            os.close(rd)
        self.assertEqual(p.returncode, 0, p.stderr)
        wait_for(lambda: r.mailbox("alice"), 10, "delivery through local-spawn")
        wait_for(lambda: r.mailbox("bob"), 10, "the bounce through local-spawn")
        wait_for(r.queue_empty, 10, "an empty queue")
        self.assertEqual(r.stop(), 0)

    def test_backlog_at_start_and_new_mail_meanwhile(self):
        r = self.root()
        ids = [r.inject("bob@example.test", ["alice@example.test"]) for _ in range(30)]
        r.start()
        late = r.inject("bob@example.test", ["alice@example.test"])
        wait_for(lambda: len(r.mailbox("alice")) == 31, 30, "31 deliveries")
        wait_for(r.queue_empty, 10, "an empty queue")
        for i in ids + [late]:
            self.assertEqual(len(r.events(msg=i, event="done")), 1, i)
        self.assertEqual(r.stop(), 0)


if __name__ == "__main__":
    unittest.main()
