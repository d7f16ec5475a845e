"""bench/queue_load.py: queue-send with a big queue (the `make bench` rows "queue-send
resident memory with 100,000 queued" and "queue-send CPU per message at 100 vs
100,000 queued"). See bench/README.md for what is measured and why.

The deferred queue is built without 100,000 injections: one real message is
injected by queue-inject and tried once by queue-send for carol, whose .qmail runs
`|exit 111`, so it is deferred and queue-send writes its journal (a T record). With
queue-send stopped, that queue file and journal are copied N times into mess/ and
stat/ as queue-layout/README.md lays them out (each file renamed to its own inode
number; only the birth in the header and the journal, and the T time, change). The
copies are born 101-106 minutes ago and were last tried now, so their next retry is
15-20 minutes away: none is tried while the bench runs (checked in the log).
"""
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time

import quailtest as qt

DOMAIN = "example.test"
ALICE = "alice@" + DOMAIN      # new mail goes here (a plain Maildir)
CAROL = "carol@" + DOMAIN      # the deferred mail was for carol (.qmail: |exit 111)
BOB = "bob@" + DOMAIN
BIG = int(os.environ.get("BENCH_QUEUED", "100000"))
SMALL = 100
M = int(os.environ.get("BENCH_QUEUE_NEW", "1000"))  # new messages per round
ROUNDS = 3
CONC = int(os.environ.get("BENCH_CONCURRENCY", "8"))
DEADLINE = 150
HZ = os.sysconf("SC_CLK_TCK")
NS = 1000000000

HEADER = re.compile(rb"QUAIL-QUEUE 1 (\d{20}) (\d{20})\n")
JOURNAL = re.compile(rb"quail-stat 1 (\d+)\nT 0 (\d+) ([^\n]*)\n")


class ScratchFs:
    """A fresh ext4 in a sparse file under /tmp, loop-mounted (without `discard`),
    for the two queues: deleting 200,000 files of /tmp's own filesystem costs a
    synchronous discard each there (~80 s) and slows file creation in /tmp for
    minutes; here the whole filesystem goes with one umount. `where` is None (and
    `why` says why) when it cannot be made: the queues then live in /tmp."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="quail-bench-fs-", dir="/tmp")
        self.image = os.path.join(self.dir, "ext4.img")
        self.where = None
        self.why = ""
        mnt = os.path.join(self.dir, "mnt")
        qt.register_cleanup(self)  # unmounted also when quailtest cleans up on SIGTERM
        try:
            os.mkdir(mnt)
            with open(self.image, "wb") as f:
                f.truncate(4 << 30)
            # Inode tables written now, not by a kernel thread during the measurement.
            for argv in (["mkfs.ext4", "-q", "-F", "-N", "400000", "-E", "lazy_itable_init=0,lazy_journal_init=0",
                          self.image], ["mount", "-o", "loop", self.image, mnt]):
                r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
                if r.returncode != 0:
                    self.why = "%s: %s" % (argv[0], (r.stderr or r.stdout).strip()[:120])
                    return
            self.where = mnt
        except OSError as e:
            self.why = str(e)

    def cleanup(self):
        if self.where:
            if subprocess.run(["umount", self.where], capture_output=True, timeout=60).returncode != 0:
                subprocess.run(["umount", "-l", self.where], capture_output=True, timeout=60)
            self.where = None
        shutil.rmtree(self.dir, ignore_errors=True)
        qt.unregister_cleanup(self)


def new_instance(where=None):
    if where:
        q = qt.Instance(root=os.path.join(tempfile.mkdtemp(prefix="quail-bench-queue-", dir=where), "root"))
    else:
        q = qt.Instance(prefix="quail-bench-queue-")
    q.init("mx." + DOMAIN, [DOMAIN])
    q.add_user(ALICE, "alice-secret")
    q.add_user(CAROL, "carol-secret")
    with open(os.path.join(q.home(CAROL), ".qmail"), "w") as f:
        f.write("|exit 111\n")
    return q


def up(q):
    # An explicit retry scale of 1: a QUAIL_RETRY_SCALE in the caller's environment
    # would bring the copies' retries into the measurement.
    q.up(env={"QUAIL_RETRY_SCALE": "1"})
    pids = q.pids("queue-send")
    if len(pids) != 1:
        raise RuntimeError("expected one queue-send under %s, found %r" % (q.root, pids))
    return pids[0]


def deferred_template(q):
    """(queue file, journal) of one message really deferred by queue-send."""
    up(q)
    code, err = q.queue_inject(qt.make_message(0, to=CAROL, sender=BOB, size=1000), qt.envelope(BOB, CAROL))
    if code != 0:
        raise RuntimeError("queue-inject exited %d: %s" % (code, err.strip()))

    def journal():
        for name in q.queue_entries("stat"):
            with open(q.path("queue", "stat", name), "rb") as f:
                text = f.read()
            if JOURNAL.fullmatch(text):
                return name, text
        return None
    name, text = qt.wait_for(journal, 30, "a T record in stat/ for carol's deferred message")
    q.down()
    with open(q.path("queue", "mess", name), "rb") as f:
        qfile = f.read()
    if not HEADER.match(qfile):
        raise RuntimeError("unexpected queue file header %r" % qfile[:56])
    os.unlink(q.path("queue", "mess", name))
    os.unlink(q.path("queue", "stat", name))
    return qfile, text


def write_deferred(q, template, count, now_ns):
    """`count` copies of the deferred template in mess/ + stat/, born 101-106 minutes
    before now_ns (distinct births, spread evenly) and last tried at now_ns: the next
    retry is at 121 minutes of age (60 s x 11^2), 15-20 minutes away."""
    qfile, journal = template
    length = HEADER.match(qfile).group(1)
    reason = JOURNAL.fullmatch(journal).group(3)
    body = qfile[56:]
    last_try = b"%d" % (now_ns // NS)
    qdir = q.path("queue")
    dirs = [os.open(os.path.join(qdir, d), os.O_RDONLY | os.O_DIRECTORY) for d in ("tmp", "mess", "stat")]
    tmp_d, mess_d, stat_d = dirs
    pid = os.getpid()
    try:
        for i in range(count):
            birth = now_ns - 106 * 60 * NS + (5 * 60 * NS * i) // count
            # S1 as queue-inject names it, then straight to S3 (taken, tried once).
            tmp = "%d.%d" % (pid, birth)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640, dir_fd=tmp_d)
            try:
                os.write(fd, b"QUAIL-QUEUE 1 %s %020d\n" % (length, birth) + body)
                ino = "%d" % os.fstat(fd).st_ino
            finally:
                os.close(fd)
            os.rename(tmp, ino, src_dir_fd=tmp_d, dst_dir_fd=mess_d)
            fd = os.open(ino, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640, dir_fd=stat_d)
            try:
                os.write(fd, b"quail-stat 1 %d\nT 0 %s %s\n" % (birth, last_try, reason))
            finally:
                os.close(fd)
    finally:
        for d in dirs:
            os.close(d)


def proc_stat(pid):
    """(utime+stime, utime+stime+cutime+cstime) in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ut, st, cut, cst = (int(x) for x in fields[11:15])
    return (ut + st) / HZ, (ut + st + cut + cst) / HZ


def tree_cpu(pids):
    """utime+stime+cutime+cstime summed over pids, skipping one that just ended."""
    total = 0.0
    for p in pids:
        try:
            total += proc_stat(p)[1]
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def own_cpu(pid):
    """CPU seconds of the process itself: schedstat (ns) where the kernel has it."""
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[0]) / NS
    except (OSError, ValueError, IndexError):
        return proc_stat(pid)[0]


def wait_loaded(pid):
    """Waits until queue-send has read its backlog (its CPU time stops moving for
    0.75 s); returns the monotonic time it last moved."""
    last, still = own_cpu(pid), 0
    moved = time.monotonic()
    end = moved + DEADLINE
    while still < 3:
        if time.monotonic() > end:
            raise RuntimeError("queue-send did not settle within %d s" % DEADLINE)
        time.sleep(0.25)
        now = own_cpu(pid)
        if now - last < 0.002:
            still += 1
        else:
            still, moved = 0, time.monotonic()
        last = now
    return moved


def status_kib(pid, key):
    for line in open("/proc/%d/status" % pid):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


class Queue:
    """One instance with `queued` deferred messages and queue-send up."""

    def __init__(self, template, queued, now_ns, where):
        self.q = new_instance(where)
        try:
            self.start(template, queued, now_ns)
        except BaseException:
            self.q.cleanup()
            raise

    def start(self, template, queued, now_ns):
        self.queued = queued
        self.delivered = 0
        t = time.monotonic()
        write_deferred(self.q, template, queued, now_ns)
        self.write_s = time.monotonic() - t
        os.sync()  # the copies' writeback must not compete with the measurement
        self.sync_s = time.monotonic() - t - self.write_s
        # The copies must be a queue quail itself accepts: every invariant checked.
        r = self.q.check()
        if r.returncode != 0:
            raise RuntimeError("quail check on the written queue: %s" % (r.out + r.err).strip()[:300])
        t = time.monotonic()
        self.pid = up(self.q)
        self.load_s = wait_loaded(self.pid) - t  # to within 0.25 s
        self.rss = status_kib(self.pid, "VmRSS")
        self.hwm = status_kib(self.pid, "VmHWM")
        self.cpu, self.cpu_all, self.rate = [], [], []
        self.msg = qt.make_message(1, to=ALICE, sender=BOB, size=2000)
        self.env = qt.envelope(BOB, ALICE)

    def tree(self):
        """queue-send and local-spawn under this root: the fork server and, in a
        single-user instance, its delivery workers, which come and go (a worker
        retires after 100 deliveries; its CPU then moves into the server's cutime)."""
        return self.q.pids("queue-send") + self.q.pids("local-spawn")

    def round(self):
        """Injects M messages for alice and measures queue-send's CPU until all are
        delivered and gone from the queue."""
        q = self.q
        new = os.path.join(q.maildir(ALICE), "new")
        tree = self.tree()
        own0 = own_cpu(self.pid)
        all0 = tree_cpu(tree)
        errors = []

        def one(_):
            code, err = q.queue_inject(self.msg, self.env)
            if code != 0:
                errors.append((code, err.strip()))
        start = time.monotonic()
        qt.run_parallel(one, range(M), CONC)
        if errors:
            raise RuntimeError("queue-inject failed %d times, first: %r" % (len(errors), errors[0]))
        target = self.delivered + M
        qt.wait_for(lambda: len(os.listdir(new)) >= target, DEADLINE, "%d messages in Maildir/new" % target,
                    interval=0.01)
        elapsed = time.monotonic() - start
        # Done means settled: every new message unlinked, the deferred ones all there.
        qt.wait_for(lambda: not q.queue_entries("todo") and len(os.listdir(q.path("queue", "mess"))) == self.queued,
                    DEADLINE, "the new messages to leave the queue", interval=0.05)
        qt.wait_for(lambda: not q.pids("local-deliver"), 30, "local-deliver to exit")
        time.sleep(0.1)  # the last reap
        if self.pid not in self.tree():
            raise RuntimeError("queue-send %d ended during the round" % self.pid)
        # Over the tree as it is now: a worker that ended is in its parent's cutime.
        self.cpu.append((own_cpu(self.pid) - own0) / M)
        self.cpu_all.append((tree_cpu(self.tree()) - all0) / M)
        self.rate.append(M / elapsed)
        self.delivered = target

    def retried(self):
        """Deliveries to carol in the log beyond the template's one attempt."""
        return [r for r in self.q.log_lines("queue-send")
                if r.get("event") == "delivery" and r.get("to") == "<%s>" % CAROL]


def us(seconds):
    return "%.0f µs" % (seconds * 1e6)


def bench_queue(rows, say):
    if qt.missing("queue-inject", "queue-send", "local-deliver"):
        rows.append(("queue-send with a big queue", "not measured", "programs not built"))
        return
    tq = new_instance()
    try:
        template = deferred_template(tq)
    finally:
        tq.cleanup()
    now_ns = time.time_ns()
    queues = []
    fs = ScratchFs()
    try:
        where = "a fresh ext4 on a loop device" if fs.where else "/tmp (no loop-mounted ext4: %s)" % fs.why
        for n in (SMALL, BIG):
            say("bench: writing %d deferred messages on %s, starting queue-send..." % (n, where))
            queues.append(Queue(template, n, now_ns, fs.where))
        small, big = queues
        say("bench: %d rounds of %d new messages at %d and %d queued, interleaved..." % (ROUNDS, M, SMALL, BIG))
        for _ in range(ROUNDS):
            small.round()
            big.round()
        for qu in queues:
            if qu.retried():
                raise RuntimeError("a deferred message was retried during the measurement: %r" %
                                   qu.retried()[0].get("_line"))
    finally:
        t = time.monotonic()
        for qu in queues:
            qu.q.cleanup()
        fs.cleanup()
        cleanup_s = time.monotonic() - t
    per = (big.rss - small.rss) * 1024 / (BIG - SMALL)
    rows.append(("queue-send resident memory, {:,} deferred messages queued".format(BIG),
                 "%d KiB" % big.rss,
                 "VmHWM %d KiB; %d KiB with %d queued (~%.0f bytes per queued message); "
                 "backlog read in %.1f s after start; queue written in %.1f s + sync %.1f s "
                 "(copies, see README) on %s" %
                 (big.hwm, small.rss, SMALL, per, big.load_s, big.write_s, big.sync_s, where)))
    med = {}
    for qu in queues:
        med[qu.queued] = (statistics.median(qu.cpu), statistics.median(qu.cpu_all))
        rows.append(("queue-send CPU per new message, {:,} queued".format(qu.queued), us(med[qu.queued][0]),
                     "with its local-deliver children: %s; median of %d rounds of %d msgs (%s); %.0f msg/s delivered" %
                     (us(med[qu.queued][1]), ROUNDS, M, ", ".join(us(c) for c in qu.cpu),
                      statistics.median(qu.rate))))
    rows.append(("queue-send CPU per message, {:,} / {:,} queued".format(BIG, SMALL),
                 "%.2fx" % (med[BIG][0] / med[SMALL][0]),
                 "target <= 1.5x; with children %.2fx; no deferred message retried (log); cleanup %.1f s" %
                 (med[BIG][1] / med[SMALL][1], cleanup_s)))
