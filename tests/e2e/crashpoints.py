"""crashpoints: kill -9 at every fsync, rename, link, unlink and write of the
queue's programs, without a test hook in their code (issue 18, crash matrix).

strace's fault injection does the killing (tests/e2e/stracekill.py): a
process dies as it enters its Nth call of one kind. Two scenes (remote mail:
crashremote.py):

- injection: queue-inject of one message (small, medium, or over 1 MiB, which
  it writes in parts), killed at each point of its own run;
- delivery: queue-send with local-spawn's workers (the processes `quail up`
  starts) over a queue of messages for two local users, one recipient of which
  fails for good (a bounce is queued): the first of those processes to reach
  its Nth call dies there, and everything else of the root is killed at once.

After each kill, `quail check` (tmp/ debris of a killed injector aside, which
--repair removes), then queue-send runs clean until the queue is empty, and
each recipient of an acknowledged message (queue-inject exit 0) is counted in
its Maildir, or for one that fails for good in the bounces in bob's: missing is
lost, a copy beyond the first is a duplicate (of a bounce: a notice sent
again). Used by e2e 71-crash-matrix (a bounded subset) and
tests/long/crash_matrix.py.
"""
import collections
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import quailtest as qt
from stracekill import CALLS, killed, points_of, program_killed, strace_argv  # noqa: F401 (crashremote's too)

DOMAIN = "example.test"
ALICE, CAROL, BOB = "alice@" + DOMAIN, "carol@" + DOMAIN, "bob@" + DOMAIN
FAIL = "alice-fail@" + DOMAIN  # .qmail-fail: |exit 100
RETRY = {"QUAIL_RETRY_SCALE": "600"}
TEST_RE = re.compile(rb"X-Quail-Test: (\d+)\n")
NOTICE_RE = re.compile(rb"\nFinal-Recipient: rfc822; (\S+)\n")  # a bounce's, one per failed recipient
SIZES = (300, 70000, 1200000)


def expected_after_a_crash(line):
    """quail check's lines that a crash may leave (queue-layout/README.md): a
    killed injector's tmp/ file; a journal whose message was removed just before
    (S4 -> S5: mess/<id> goes first, then stat/<id>). One queue file named in both
    todo/ and mess/ is no finding: it is a message not yet taken."""
    return "tmp/" in line or "orphan journal: no message" in line


def message(n, size):
    return qt.make_message(n, sender=BOB, size=size) + b"end of message %d\n" % n


class Matrix:
    """One quail root and the counts of the kills done on it."""
    refused = (FAIL,)  # recipients that fail for good: a bounce to bob is owed

    def __init__(self, seed=None):
        self.rng = random.Random(seed)
        self.q = qt.Instance(prefix="quail-crash-")
        self.q.init("mx." + DOMAIN, [DOMAIN])
        for u in (ALICE, CAROL, BOB):
            self.q.add_user(u)
        with open(os.path.join(self.q.home(ALICE), ".qmail-fail"), "w") as f:
            f.write("|exit 100\n")
        self.tmp = tempfile.mkdtemp(prefix="quail-crash-trace-")
        self.acked = {}  # n -> recipients
        self.next_n = 0
        self.kills = 0
        self.not_reached = 0
        self.findings = []  # (point, quail check line)
        self.lost = []
        self.duplicates = 0
        self.notice_duplicates = 0  # a bounce sent again
        self.counted = 0  # acknowledged deliveries found
        self.kills_in = collections.Counter()  # (scene, program) -> kills that hit it (delivery scenes)

    def cleanup(self):
        self.q.cleanup()
        subprocess.run(["rm", "-rf", self.tmp])

    # ------------------------------------------------------------ running
    def inject(self, n, rcpts, size, wrap=()):
        argv = list(wrap) + [qt.bin_path("queue-inject")]
        code, _ = qt.run_with_envelope(argv, message(n, size), qt.envelope(BOB, *rcpts), env=self.q.env(RETRY))
        if code == 0:
            self.acked[n] = tuple(rcpts)
        return code

    def new_n(self):
        self.next_n += 1
        return self.next_n

    def start_scheduler(self, wrap=()):
        log = open(os.path.join(self.tmp, "queue-send.log"), "ab")
        argv = list(wrap) + [qt.bin_path("local-spawn"), "-", qt.bin_path("queue-send")]
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=self.q.env(RETRY),
                                start_new_session=True)

    def queue_empty(self):
        return not any(self.q.queue_entries(s) for s in ("todo", "mess"))

    def drain(self, timeout=120):
        """Runs queue-send clean until the queue is empty, then stops it."""
        if not self.queue_empty():
            p = self.start_scheduler()
            try:
                qt.wait_for(self.queue_empty, timeout, "the queue to drain")
            finally:
                p.terminate()
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.q.kill_all()

    def check(self, point):
        r = self.q.check()
        if r.returncode != 0:
            lines = [l.strip() for l in (r.out + r.err).splitlines() if l.strip()]
            found = [(point, l) for l in lines if not expected_after_a_crash(l)]
            for f in found:
                print("crashpoints: quail check after a kill at %s: %s" % f, file=sys.stderr, flush=True)
            self.findings += found
            self.q.check(repair=True)

    # ------------------------------------------------------------ scenes
    def injection_points(self, size):
        """The points of two clean runs: one with pool/ empty (a new file), one
        writing over a file from pool/ (rename, truncate)."""
        points = set()
        for pooled in (False, True):
            if pooled:
                self.inject(self.new_n(), (ALICE,), SIZES[0])
                self.drain()  # its file is parked in pool/
            elif self.q.queue_entries("pool"):
                for name in self.q.queue_entries("pool"):
                    os.unlink(self.q.path("queue", "pool", name))
            trace = os.path.join(self.tmp, "clean.trace")
            self.inject(self.new_n(), (ALICE,), size, wrap=strace_argv(trace))
            points.update(points_of(trace))
        self.drain()
        self.count(("clean",))
        return sorted(points)

    def kill_injection(self, point, size):
        """queue-inject killed at point; True when the point was reached."""
        trace = os.path.join(self.tmp, "kill.trace")
        code = self.inject(self.new_n(), self.rng.choice(((ALICE,), (ALICE, CAROL))), size,
                           wrap=strace_argv(trace, point))
        hit = code != 0 and killed(trace, point[0])
        # No drain: nothing of a killed injection was acknowledged; the next
        # drain (finish(), or a delivery scene) delivers what it committed.
        self.after_kill(("queue-inject", size) + point, hit, drain=False)
        return hit

    def fill_queue(self):
        """A few messages in todo/ (queue-send stopped): one fails for alice-fail."""
        for rcpts in ((ALICE,), (CAROL,), (ALICE, CAROL), (ALICE, FAIL)):
            self.assertz(self.inject(self.new_n(), rcpts, self.rng.choice(SIZES[:2])))

    def assertz(self, code):
        if code != 0:
            raise AssertionError("queue-inject exit %d without a kill" % code)

    def delivery_points(self, calls=CALLS, fill=None):
        (fill or self.fill_queue)()
        trace = os.path.join(self.tmp, "clean.trace")
        p = self.start_scheduler(strace_argv(trace, calls=calls))
        try:
            qt.wait_for(self.queue_empty, 120, "the queue to drain under strace")
            time.sleep(0.2)  # the journals' removal and the pool after the last delivery
        finally:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(30)
        self.q.kill_all()
        return points_of(trace, calls)

    def kill_delivery(self, point, calls=CALLS, label="queue-send", fill=None):
        """queue-send and its workers, the first of them killed at point."""
        (fill or self.fill_queue)()
        trace = os.path.join(self.tmp, "kill.trace")
        if os.path.exists(trace):
            os.unlink(trace)
        p = self.start_scheduler(strace_argv(trace, point, calls))
        try:
            qt.wait_for(lambda: killed(trace, point[0]) or self.queue_empty(), 60,
                        "a kill at %s or a drained queue" % (point,))
        except AssertionError:
            # Neither seen: say so, and recover as after any kill (the drain below
            # then shows whether anything was lost).
            print("crashpoints: neither a kill at %s nor a drained queue in 60 s" % (point,), file=sys.stderr,
                  flush=True)
        hit = killed(trace, point[0])
        if not hit:
            time.sleep(self.rng.uniform(0, 0.2))  # the kill may still come after the drain
            hit = killed(trace, point[0])
        self.q.kill_all()
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(30)
        if hit:
            self.kills_in[(label, program_killed(trace))] += 1
        self.after_kill((label,) + point, hit)
        return hit

    # ------------------------------------------------------------ counting
    def finish(self):
        """Delivers and counts what is still queued."""
        self.drain()
        self.count(("finish",))

    def after_kill(self, point, hit, drain=True):
        if hit:
            self.kills += 1
        else:
            self.not_reached += 1
        self.check(point)
        if not drain:
            return
        self.drain()
        self.count(point)
        r = self.q.check()
        if r.returncode != 0:
            found = [(point, "after the drain: " + l.strip()) for l in (r.out + r.err).splitlines() if l.strip()]
            for f in found:
                print("crashpoints: quail check at %s %s" % f, file=sys.stderr, flush=True)
            self.findings += found
            self.q.check(repair=True)

    def keep_evidence(self, what):
        """With $CRASH_KEEP set (a directory): the root and the traces and logs
        of this matrix are copied there, to read what happened."""
        keep = os.environ.get("CRASH_KEEP")
        if keep:
            dest = tempfile.mkdtemp(prefix=what + "-", dir=keep)  # two losses in one count: two places
            fifo = shutil.ignore_patterns("trigger")  # lock/trigger: copytree cannot copy a FIFO
            shutil.copytree(self.tmp, os.path.join(dest, "trace"), symlinks=True, ignore=fifo)
            shutil.copytree(self.q.root, os.path.join(dest, "root"), symlinks=True, ignore=fifo)

    def copies(self):
        """(n, recipient) -> copies delivered so far."""
        copies = collections.Counter()
        for addr in (ALICE, CAROL):
            for head in self.q.maildir_heads(addr).values():
                m = TEST_RE.search(head)
                if m:
                    copies[(int(m.group(1)), addr)] += 1
        # Bounces to bob: the returned message's header (X-Quail-Test) follows
        # the delivery-status part that names the failed recipients.
        for head in self.q.maildir_heads(BOB).values():
            m = TEST_RE.search(head)
            if m:
                for r in NOTICE_RE.findall(head):
                    copies[(int(m.group(1)), r.decode().lower())] += 1
        return copies

    def count(self, point):
        copies = self.copies()
        for n, rcpts in list(self.acked.items()):
            for a in rcpts:
                c = copies[(n, a)]
                if c == 0:
                    print("crashpoints: message %d for %s lost after a kill at %s%s" %
                          (n, a, point, " (no bounce)" if a in self.refused else ""), file=sys.stderr, flush=True)
                    self.lost.append((point, n, a))
                    self.keep_evidence("lost-%d-%s" % (n, a))
                else:
                    self.counted += 1
                    if a in self.refused:
                        self.notice_duplicates += c - 1
                    else:
                        self.duplicates += c - 1
        self.acked.clear()  # each is counted once: its message has left the queue
