"""crashremote: the crash matrix's remote deliveries (issue 18), beside the
local scenes of crashpoints.py.

Messages for two remote domains (remote.test, other.test) go by
control/smtproutes to a sink on 127.0.0.1 (65-remote's smtp_peer) that counts
every (message, recipient) it accepted (the X-Quail-Test number) and keeps no
body. The queue of the remote scene: one recipient; two at one domain (one
transaction); alice, dave@remote.test and frank@other.test (one copy per
domain, the local one by local-spawn); one recipient the sink refuses with 550
(an F record and a bounce); carol with erin@remote.test; dave@remote.test with
later@other.test, whose first DATA the sink answers with 451 (dave's D goes to
the journal, fdatasync'ed, and later@ is tried again). Two ways to kill:

- the whole tree (queue-send, its remote-deliver runs, local-spawn's workers)
  under one strace, as the local delivery scene, with remote-deliver's socket
  writes (sendto) and queue-send's job hand-over (sendmsg) added to the calls:
  the first process to reach its Nth call dies, which is queue-send for its
  journal's fdatasyncs and the unlinks and renames of a message that is done;
- remote-deliver alone: queue-send starts ROOT/bin/remote-deliver (quail
  init links ROOT/bin/ to the build's programs), here a script that runs the
  real one under its own strace while the file strace-remote (in the trace
  directory) names a point, so its Nth write (a report on descriptor 1 or a
  log line) or socket write (a command, a chunk of the message, the end of
  DATA) is where it dies, with queue-send alive to see
  the short report: half the time queue-send is killed 0-0.3 s later, half
  the time it lives on and drains the queue itself (new runs untraced).

A recipient of an acknowledged message is lost when the sink never accepted
it (a remote recipient), it is not in its Maildir (a local one) or, for the
refused one, no bounce in bob's Maildir names it. A copy beyond the first is a
duplicate:
a kill after the sink's 250 and before queue-send's D record sends the message
again (man/remote-deliver.8, the duplicate window).
"""
import collections
import glob
import os
import re
import shlex
import subprocess
import sys
import threading
import time

import quailtest as qt
import crashpoints as cp

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "65-remote"))
from smtp_peer import Peer  # noqa: E402

REMOTE, OTHER = "remote.test", "other.test"
DAVE, ERIN, FRANK = "dave@" + REMOTE, "erin@" + REMOTE, "frank@" + OTHER
REFUSED = "nobody@" + REMOTE  # the sink answers 550 5.1.1
LATER = "later@" + OTHER  # the sink answers 451 after the first DATA of each message for it
REMOTE_CALLS = cp.CALLS + ("sendto", "sendmsg")
WIRE_TEST_RE = re.compile(rb"X-Quail-Test: (\d+)\r\n")


class Sink:
    """The remote domains' mail host: counts what it accepted, keeps no body."""

    def __init__(self):
        self.lock = threading.Lock()
        self.copies = collections.Counter()  # (n, recipient) -> accepted copies
        self.deferred = set()  # n of the messages for LATER deferred once
        self.journal = None  # a file: one line per accepted message (evidence for a loss)
        self.peer = Peer(rcpt=self.rcpt, data_reply=self.accept).start()

    def rcpt(self, addr):
        return "550 5.1.1 no such user here" if addr.lower() == REFUSED else "250 2.1.5 ok"

    def accept(self, txn):
        m = WIRE_TEST_RE.search(txn["data"])
        n = int(m.group(1)) if m else -1
        if self.peer.stopped:
            # A sink of a matrix that ended counts for no one: the message is
            # not taken (a thread of it still serving is the test's trouble).
            rcvd = re.search(rb"Received: [^\r]*", txn["data"])
            print("crashremote: the stopped sink on port %d was sent message %d (%s)" %
                  (self.peer.port, n, rcvd.group(0)[:90].decode("latin-1") if rcvd else "-"), file=sys.stderr, flush=True)
            return "421 4.3.0 this sink is stopped"
        if n < 0:
            print("crashremote: the sink got a message without X-Quail-Test (%d bytes)" % len(txn["data"]),
                  file=sys.stderr, flush=True)
        with self.lock:
            if LATER in (r.lower() for r in txn["rcpts"]) and n not in self.deferred:
                self.deferred.add(n)
                txn["data"] = b""
                return "451 4.3.0 try again later"
            for r in txn["rcpts"]:
                self.copies[(n, r.lower())] += 1
            if self.journal:
                self.journal.write("%.6f accepted n=%d rcpts=%s bytes=%d\n" %
                                   (time.time(), n, ",".join(txn["rcpts"]), len(txn["data"])))
                self.journal.flush()
        txn["data"] = b""
        return "250 2.0.0 queued"

    def counts(self):
        with self.peer.lock:
            del self.peer.sessions[:]  # what each connection said is not needed: bounded memory
        with self.lock:
            return collections.Counter(self.copies)


class RemoteMatrix(cp.Matrix):
    refused = (cp.FAIL, REFUSED)

    def __init__(self, seed=None):
        super().__init__(seed)
        self.sink = Sink()
        self.sink.journal = open(os.path.join(self.tmp, "sink.log"), "a")
        port = self.sink.peer.port
        # Remote retries on the local schedule (1 min unit / QUAIL_RETRY_SCALE, 0.1 s):
        # a drain after a deferred job does not wait for the 5-minute unit's 0.5 s steps.
        self.q.write_control("retryunitremote", "60\n")
        self.q.write_control("smtproutes", "%s:[127.0.0.1]:%d\n%s:[127.0.0.1]:%d\n" % (REMOTE, port, OTHER, port))
        self.strace_remote = os.path.join(self.tmp, "strace-remote")
        self.rd_traces = os.path.join(self.tmp, "rd")
        os.makedirs(self.rd_traces)
        self.wrap_remote_deliver()

    def cleanup(self):
        self.sink.peer.stop()
        self.sink.journal.close()
        super().cleanup()

    def wrap_remote_deliver(self):
        bindir = self.q.path("bin")  # quail init's links to the build's programs
        os.unlink(os.path.join(bindir, "remote-deliver"))
        with open(os.path.join(bindir, "remote-deliver"), "w") as f:
            f.write("#!/bin/sh\n# crashremote: remote-deliver under strace while %s names how\n"
                    "if [ -s %s ]; then exec $(cat %s) -o %s/rd.$$ %s \"$@\"; fi\nexec %s \"$@\"\n" %
                    (self.strace_remote, self.strace_remote, self.strace_remote, self.rd_traces,
                     qt.bin_path("remote-deliver"), qt.bin_path("remote-deliver")))
        os.chmod(os.path.join(bindir, "remote-deliver"), 0o755)

    def set_strace_remote(self, on, kill=None):
        if not on:
            if os.path.exists(self.strace_remote):
                os.unlink(self.strace_remote)
            return
        for t in glob.glob(os.path.join(self.rd_traces, "rd.*")):
            os.unlink(t)
        argv = cp.strace_argv("-", kill, REMOTE_CALLS)
        i = argv.index("-o")
        del argv[i:i + 2]  # the wrapper names a trace per run
        with open(self.strace_remote + ".new", "w") as f:
            f.write(" ".join(shlex.quote(a) for a in argv) + "\n")
        os.rename(self.strace_remote + ".new", self.strace_remote)

    def rd_trace(self):
        """remote-deliver's runs' traces, in one file (the lines keep their pids)."""
        out = os.path.join(self.tmp, "rd.trace")
        with open(out, "wb") as o:
            for t in sorted(glob.glob(os.path.join(self.rd_traces, "rd.*"))):
                with open(t, "rb") as f:
                    o.write(f.read())
        return out

    # ------------------------------------------------------------ scenes
    def fill_remote(self):
        for rcpts in ((DAVE,), (DAVE, ERIN), (cp.ALICE, DAVE, FRANK), (DAVE, REFUSED), (cp.CAROL, ERIN),
                      (DAVE, LATER)):
            self.assertz(self.inject(self.new_n(), rcpts, self.rng.choice(cp.SIZES[:2])))

    def tree_points(self):
        """Points of queue-send, its runs and workers over the remote scene."""
        return self.delivery_points(calls=REMOTE_CALLS, fill=self.fill_remote)

    def kill_tree(self, point):
        return self.kill_delivery(point, calls=REMOTE_CALLS, label="remote", fill=self.fill_remote)

    def remote_deliver_points(self):
        """(every point of remote-deliver's runs in a clean drain of the remote
        scene, the points around its reports: each write of a report and the
        socket write before it, which ends the message's DATA)."""
        self.fill_remote()
        self.set_strace_remote(True)
        try:
            self.drain()
        finally:
            self.set_strace_remote(False)
        self.count(("clean remote",))
        trace = self.rd_trace()
        points = cp.points_of(trace, REMOTE_CALLS)
        around = set()
        n = collections.Counter()
        last_send = {}
        for line in open(trace, errors="replace"):
            m = re.match(r"(\d+) +(\w+)\((\d+)?", line)
            if not m or m.group(2) not in REMOTE_CALLS:
                continue
            pid, call = m.group(1), m.group(2)
            n[(pid, call)] += 1
            if call == "sendto":
                last_send[pid] = ("sendto", n[(pid, call)])
            elif call == "write" and m.group(3) == "1":
                around.add(("write", n[(pid, call)]))
                if pid in last_send:
                    around.add(last_send[pid])
        return points, sorted(around)

    def kill_remote_deliver(self, point):
        """remote-deliver's runs killed at point, queue-send and the workers not traced."""
        self.fill_remote()
        self.set_strace_remote(True, point)

        def hit():
            return cp.killed(self.rd_trace(), point[0])
        p = self.start_scheduler()
        try:
            qt.wait_for(lambda: hit() or self.queue_empty(), 60, "a kill at %s or a drained queue" % (point,))
        except AssertionError:
            print("crashremote: neither a kill at %s nor a drained queue in 60 s" % (point,), file=sys.stderr,
                  flush=True)
        reached = hit()
        survive = reached and self.rng.random() < 0.5
        if reached and not survive:
            time.sleep(self.rng.uniform(0, 0.3))  # queue-send records the short report, or is killed first
        self.set_strace_remote(False)
        if survive:
            # The common case: queue-send lives on, defers the job and retries it
            # with a new run (a clean one: no strace now) until the queue is empty.
            try:
                qt.wait_for(self.queue_empty, 120, "queue-send to drain the queue after remote-deliver's kill")
            except AssertionError:
                print("crashremote: the queue not drained by the queue-send that saw remote-deliver die at %s"
                      % (point,), file=sys.stderr, flush=True)
            p.terminate()
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                pass
        self.q.kill_all()
        p.wait(30)
        if reached:
            self.kills_in[("remote-deliver", "remote-deliver")] += 1
        self.after_kill(("remote-deliver",) + point, reached)
        return reached

    def copies(self):
        copies = super().copies()
        copies.update(self.sink.counts())
        return copies
