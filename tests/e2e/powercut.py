"""powercut: power cuts under load on powerfs (tests/e2e/powerfs.py), counted.

A Rig is one quail root on a powerfs mount. Each cycle: mail flows (injectors
run queue-inject, queue-send delivers to two Maildirs), the power is cut at a
random instant (powerfs keeps only what was fsync'ed and fails everything after
the cut with EIO), every process of the root is killed, the filesystem is
mounted again on what survived, and then:
- every acknowledged (queue-inject exit 0) message is, for each of its
  recipients, either whole in the recipient's Maildir, or whole in the queue
  (todo/, mess/ or hold/) with no D or F record for that recipient in its
  journal; anything else is a loss;
- `quail check` runs; what it reports besides tmp/ debris is a finding
  (`--repair` then runs, as an administrator would after a crash);
- quail is started again and the next cycle begins.
At the end the queue drains and each acknowledged delivery is counted in the
Maildirs: none missing (lost), copies beyond one are duplicates.
Used by e2e 72-power-loss (a few cuts) and tests/long/power_cut.py (thousands).
"""
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import quailtest as qt
from crashpoints import expected_after_a_crash

HERE = os.path.dirname(os.path.abspath(__file__))
POWERFS = os.path.join(HERE, "powerfs.py")
PYTHON = "/usr/bin/python3"
DOMAIN = "example.test"
ALICE, BOB = "alice@" + DOMAIN, "carol@" + DOMAIN
RCPT_SETS = ((ALICE,), (BOB,), (ALICE, BOB))
TEST_RE = re.compile(rb"X-Quail-Test: (\d+)\n")


def unavailable():
    """Why power cuts cannot run here (None when they can)."""
    if os.geteuid() != 0:
        return "powerfs needs root to mount"
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse"
    r = subprocess.run([PYTHON, "-c", "import pyfuse3, trio"], capture_output=True)
    if r.returncode != 0:
        return "python3-pyfuse3 is not installed"
    return None


def message(n, size):
    """make_message's message n with a last line that shows it is whole."""
    return qt.make_message(n, sender=BOB, size=size) + b"end of message %d\n" % n


def whole(data, n):
    return data.endswith(b"end of message %d\n" % n)


class Mount:
    """One powerfs process on `path`; `state` survives cuts."""

    def __init__(self, path, state, model, ignore=""):
        self.path, self.state, self.model, self.ignore = path, state, model, ignore
        self.proc = None
        self.log = None

    def start(self):
        os.makedirs(self.path, exist_ok=True)
        args = [PYTHON, POWERFS, self.path, self.state, "--model", self.model]
        if self.ignore:
            args += ["--ignore-fsync", self.ignore]
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        qt.wait_for(lambda: os.path.ismount(self.path) or self.proc.poll() is not None, 60, "powerfs to mount")
        if self.proc.poll() is not None:
            raise AssertionError("powerfs did not start: " + self.output())

    def output(self):
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")[-3000:]

    def control(self, line):
        with open(os.path.join(self.path, ".powerfs"), "w") as f:
            f.write(line + "\n")

    def stop(self):
        if self.proc is None:
            return
        # Not os.path.ismount: after a cut every lstat there fails (EIO).
        if subprocess.run(["umount", self.path], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", self.path], capture_output=True)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


class Rig:
    """A quail root on powerfs, with the counts of its cuts."""

    def __init__(self, model="strict", ignore="", seed=None, injectors=3, retry_scale="600"):
        self.tmp = tempfile.mkdtemp(prefix="quail-power-", dir="/tmp")
        self.mount = Mount(os.path.join(self.tmp, "mnt"), os.path.join(self.tmp, "state"), model, ignore)
        self.rng = random.Random(seed)
        self.injectors = injectors
        self.env = {"QUAIL_RETRY_SCALE": retry_scale}
        self.acked = {}  # n -> recipients, for every acknowledged message
        self.cuts = 0
        self.lost = []  # (cut, n, recipient, why)
        self.findings = []  # (cut, quail check line)
        self.next_n = 0
        self.q = None
        qt.register_cleanup(self)

    def log(self, *a):
        print("powercut:", *a, file=sys.stderr, flush=True)

    # ------------------------------------------------------------ setup
    def start(self):
        self.mount.start()
        self.q = qt.Instance(root=os.path.join(self.mount.path, "root"))
        self.q.init("mx." + DOMAIN, [DOMAIN])
        self.q.add_user(ALICE)
        self.q.add_user(BOB)
        self.mount.control("sync")  # the installation is on disk; the mail is what is tested
        self.q.up(env=self.env)

    def cleanup(self):
        try:
            if self.q is not None:
                self.q.kill_all()
        finally:
            self.mount.stop()
            qt.unregister_cleanup(self)
            if os.environ.get("QUAIL_KEEP") != "1":
                shutil.rmtree(self.tmp, ignore_errors=True)

    # ------------------------------------------------------------ load
    def inject(self, n, rcpts, size):
        try:
            code, _ = self.q.queue_inject(message(n, size), qt.envelope(BOB, *rcpts), env=self.env, timeout=60)
        except subprocess.TimeoutExpired:
            return None
        return code

    def load(self, stop, seed):
        r = random.Random(seed)
        while not stop.is_set():
            with self.lock:
                n = self.next_n
                self.next_n += 1
            rcpts = r.choice(RCPT_SETS)
            if self.inject(n, rcpts, r.choice([100, 3000, 70000])) == 0:
                with self.lock:
                    self.acked[n] = rcpts
            stop.wait(r.uniform(0, 0.1))  # less backlog than deliveries on FUSE can take

    def cut_and_boot(self):
        """The power goes now; everything is killed; the machine boots on what survived."""
        self.mount.control("cut")
        self.cuts += 1
        self.q.kill_all()
        self.mount.stop()
        self.mount.start()

    def cycle(self, max_seconds=2.0):
        """Mail flows for a random time up to max_seconds; the power is cut; the
        machine boots on what survived; the survivors are counted."""
        self.lock = threading.Lock()
        stop = threading.Event()
        threads = [threading.Thread(target=self.load, args=(stop, self.rng.random())) for _ in range(self.injectors)]
        for t in threads:
            t.start()
        time.sleep(self.rng.uniform(0.05, max_seconds))
        self.mount.control("cut")
        self.cuts += 1
        stop.set()
        self.q.kill_all()
        for t in threads:
            t.join(120)
        self.q.kill_all()
        self.mount.stop()
        self.mount.start()
        self.count_survivors()
        self.run_check()
        self.q.up(env=self.env)

    # ------------------------------------------------------------ counting
    def maildir_numbers(self, addr):
        """{n: (whole copies, damaged copies)} in addr's Maildir."""
        out = {}
        for p in self.q.maildir_files(addr, subdirs=("new", "cur")):
            with open(p, "rb") as f:
                data = f.read()
            m = TEST_RE.search(data)
            if not m:
                out.setdefault(-1, [0, 0])[1] += 1
                continue
            n = int(m.group(1))
            c = out.setdefault(n, [0, 0])
            c[0 if whole(data, n) else 1] += 1
        return out

    def queued(self):
        """{n: set of recipient indexes still owed} of whole queue files."""
        out = {}
        for sub in ("todo", "mess", "hold"):
            for name in self.q.queue_entries(sub):
                try:
                    with open(self.q.path("queue", sub, name), "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                head = data[:56].split()
                m = TEST_RE.search(data)
                if len(head) < 4 or not m:
                    continue
                n = int(m.group(1))
                length = int(head[2])
                if not whole(data[56:56 + length], n):
                    continue
                done = self.journal_final(name, head[3].decode())
                owed = out.setdefault(n, set())
                owed.update(i for i in range(len(self.acked.get(n, ()))) if i not in done)
        return out

    def journal_final(self, name, birth):
        try:
            with open(self.q.path("queue", "stat", name), "rb") as f:
                lines = f.read().split(b"\n")
        except OSError:
            return set()
        if not lines or lines[0].split()[2:3] != [birth.encode()]:
            return set()
        final = set()
        for line in lines[1:-1]:  # the last piece has no newline: not a record
            w = line.split()
            if len(w) >= 2 and w[0] in (b"D", b"F"):
                final.add(int(w[1]))
        return final

    def count_survivors(self):
        boxes = {a: self.maildir_numbers(a) for a in {a for rcpts in self.acked.values() for a in rcpts}}
        queued = self.queued()
        for n, rcpts in sorted(self.acked.items()):
            for i, a in enumerate(rcpts):
                if boxes[a].get(n, (0, 0))[0]:
                    continue
                if i in queued.get(n, ()):
                    continue
                why = "damaged in the Maildir" if boxes[a].get(n, (0, 0))[1] else "neither delivered nor queued"
                self.lost.append((self.cuts, n, a, why))
                self.log("cut %d: message %d for %s lost: %s" % (self.cuts, n, a, why))
        # A lost message is counted once: it is no longer expected.
        for _, n, _, _ in self.lost:
            self.acked.pop(n, None)

    def run_check(self):
        r = self.q.check()
        if r.returncode != 0:
            for line in (r.out + r.err).splitlines():
                if line.strip() and not expected_after_a_crash(line):
                    self.findings.append((self.cuts, line.strip()))
            rr = self.q.check(repair=True)
            if rr.returncode not in (0, 1):
                self.findings.append((self.cuts, "check --repair exit %d: %s" % (rr.returncode, rr.err.strip())))

    def drain(self, timeout=300):
        """Waits until the queue holds no acknowledged message; returns (deliveries
        expected, missing, duplicate copies)."""
        def done():  # of the acknowledged mail (a test may leave other mail deferred)
            return not set(self.queued()) & set(self.acked)
        qt.wait_for(done, timeout, "the queue to deliver the acknowledged mail")
        boxes = {a: self.maildir_numbers(a) for a in {a for rcpts in self.acked.values() for a in rcpts}}
        expected = missing = dups = 0
        for n, rcpts in self.acked.items():
            for a in rcpts:
                expected += 1
                whole_copies = boxes[a].get(n, (0, 0))[0]
                if not whole_copies:
                    missing += 1
                    self.lost.append((self.cuts, n, a, "never delivered after the drain"))
                dups += max(0, whole_copies - 1)
        return expected, missing, dups
