"""20-queue-send, remote scheduling: the per-domain limit on remote-deliver runs
(control/concurrencyperdomain) and the back-off of a domain whose runs all fail
temporarily, so a dead destination does not take every remote slot.

A small python stand-in for remote-deliver speaks its kept-run contract
(man/queue-send.8: jobs on fd 0, r/h/s + K/Z/D reports on fd 1), sleeps like a
slow peer and logs each job's start and end, which is what these tests measure.
"""
import sys
sys.dont_write_bytecode = True
import importlib.util
import os
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("queue_send_root", os.path.join(HERE, "test_queue_send.py"))
qs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(qs)

# Per job: its start and end (run pid and dlv), a sleep like a slow peer's, and
# the report: deferred for dead.test, accepted elsewhere.
FAKE = """\
    tag = "%%d-%%s" %% (os.getpid(), dlv)
    with open(%(log)r, "a") as log:
        log.write("start %%s %%s %%.6f\\n" %% (dom, tag, time.time()))
    time.sleep(%(sleep)s)
    report = b"r\\0" * len(rcpts)
    if dom == "dead.test":
        report += b"Zmx.dead.test [192.0.2.1] connection refused (#4.4.1)\\0"
    else:
        report += b"Kmx.%%s [192.0.2.2] accepted the message: 250 ok\\0" %% dom.encode()
    with open(%(log)r, "a") as log:
        log.write("end %%s %%s %%.6f\\n" %% (dom, tag, time.time()))"""


class RemoteSchedule(unittest.TestCase):
    def setUp(self):
        missing = [p for p in qs.NEEDED if not os.access(os.path.join(qs.BIN, p), os.X_OK)]
        if missing:
            raise unittest.SkipTest("program(s) not built: %s" % ", ".join(missing))

    def root(self, control, sleep):
        r = qs.Root(control=control)
        self.addCleanup(r.cleanup)
        self.runs_log = r.path("remote.runs")
        qs.fake_remote_deliver(r.path("bin", "remote-deliver"), FAKE % {"log": self.runs_log, "sleep": sleep})
        return r

    def runs(self, domain):
        """[(start, end or None)] of the stand-in's jobs for domain."""
        try:
            with open(self.runs_log) as f:
                lines = [l.split() for l in f if l.strip()]
        except FileNotFoundError:
            return []
        starts = {(l[2]): float(l[3]) for l in lines if l[0] == "start" and l[1] == domain}
        ends = {(l[2]): float(l[3]) for l in lines if l[0] == "end" and l[1] == domain}
        return sorted((t, ends.get(pid)) for pid, t in starts.items())

    def test_runs_to_one_domain_stay_within_concurrencyperdomain(self):
        r = self.root({"concurrencyremote": "6", "concurrencyperdomain": "2"}, "0.4")
        ids = [r.inject("bob@example.test", ["user%d@busy.test" % i]) for i in range(6)]
        other = r.inject("bob@example.test", ["carol@other.test"])
        r.start()
        for qid in ids + [other]:
            qs.wait_for(lambda: r.events(msg=qid, event="done"), 30, "message %s done" % qid)
        busy = self.runs("busy.test")
        self.assertEqual(len(busy), 6)
        overlap = max(sum(1 for s, e in busy if s <= t < e) for t, _ in busy)
        self.assertEqual(overlap, 2, "at most concurrencyperdomain runs to busy.test at once, and the limit is used")
        # other.test did not wait for busy.test's queue: it ran while busy.test's jobs waited.
        (o_start, _), = self.runs("other.test")
        self.assertLess(o_start, busy[-1][0])

    def test_a_dead_domain_is_backed_off_and_leaves_slots_to_others(self):
        r = self.root({"concurrencyremote": "2"}, "0.3")
        for i in range(20):
            r.inject("bob@example.test", ["user%d@dead.test" % i])
        live = r.inject("bob@example.test", ["carol@live.test"])
        # Back-off 2 s, doubling; remote retries 10, 40, 90 ... s after birth.
        r.start(env={"QUAIL_RETRY_SCALE": "30"})
        qs.wait_for(lambda: r.events(msg=live, event="done"), 30, "the live domain's delivery")
        time.sleep(1.5)
        dead = self.runs("dead.test")
        # Without a back-off all 20 messages would have had their first run by now
        # (two slots, 0.3 s a run, live delivered about 0.3 s in).
        self.assertLessEqual(len(dead), 4, dead)
        self.assertTrue(r.events(event="backoff", domain="dead.test"))
        self.assertFalse(r.mailbox("bob"), "a backed-off domain bounces nothing")
        queued = [e for e in r.events(event="delivery") if e.get("to", "").endswith("@dead.test>")]
        self.assertTrue(all(e["result"] == "deferred" for e in queued))


if __name__ == "__main__":
    unittest.main()
