"""70-crash: crash safety of the queue (queue-layout/README.md, "Nothing is lost").

- kill -9 of queue-inject at random points (direct injections killed after random
  short delays, and sendmail's queue-inject children killed by a reaper thread)
  and of queue-send several times while mail flows; `quail up` restarts it over
  its stale pid. Afterwards every message whose injection returned 0 is delivered
  (at least once: duplicates are counted and reported, not failed), and
  `quail check` is clean (tmp/ debris of killed injectors is legitimate: it may be
  reported before `--repair`, nothing else may).
- a full disk during injection (a whole root on a small tmpfs): queue-inject exits
  53, sendmail 111 (temporary), and no partial message is in todo/ or tmp/.
- a full disk during delivery (alice's Maildir on a full tmpfs): a temporary
  failure, no bounce, and delivery once space is freed (QUAIL_RETRY_SCALE makes
  the retry quick).
"""
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import unittest

import quailtest as qt

qt.require("quail", "quail-init", "quail-user", "quail-up", "quail-down", "quail-check",
           "sendmail", "queue-inject", "queue-send", "local-deliver")

DOMAIN = "example.test"
ALICE = "alice@" + DOMAIN
BOB = "bob@" + DOMAIN
FAIL = "alice-fail@" + DOMAIN  # .qmail-fail: |exit 100
RETRY = {"QUAIL_RETRY_SCALE": "600"}  # retries after 0.1 s, 0.4 s, 0.9 s, ...
SENDMAIL_TEMP = (111,)  # sendmail(8): qmail-inject's temporary exit


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def numbers_in(q, addr, cache=None):
    """{X-Quail-Test number: copies} in addr's Maildir (headers only: messages are big)."""
    counts = {}
    for head in q.maildir_heads(addr, cache=cache).values():
        n = qt.test_number(head)
        counts[n] = counts.get(n, 0) + 1
    return counts


class KillDuringFlow(unittest.TestCase):
    SECONDS = float(os.environ.get("E2E_CRASH_SECONDS", "20"))

    def test_kill_injectors_and_scheduler(self):
        with qt.Instance() as q:
            q.init("mx." + DOMAIN, [DOMAIN])
            q.add_user(ALICE)
            q.add_user(BOB)
            with open(os.path.join(q.home(ALICE), ".qmail-fail"), "w") as f:
                f.write("|exit 100\n")
            q.up(env=RETRY)
            rng = random.Random(int(os.environ.get("E2E_SEED", str(int(time.time())))))
            stop = threading.Event()
            lock = threading.Lock()
            acked, acked_fail, killed = set(), set(), [0]
            refused = {"direct": {}, "sendmail": {}}
            counter = iter(range(10 ** 9))

            def next_n():
                with lock:
                    return next(counter)

            def direct_injector(seed):
                # queue-inject run from here; some are SIGKILLed after a random delay,
                # some messages are large so the kill lands while they are written.
                r = random.Random(seed)
                while not stop.is_set():
                    n = next_n()
                    msg = qt.make_message(n, to=ALICE, sender=BOB,
                                          size=r.choice([200, 4000, 300000, 1200000]))
                    rfd, wfd = os.pipe()
                    p = subprocess.Popen([qt.bin_path("queue-inject")], stdin=subprocess.PIPE, stdout=rfd,
                                         stderr=subprocess.DEVNULL, env=q.env())
                    os.close(rfd)
                    try:  # the reaper may have killed it already: EPIPE
                        os.write(wfd, qt.envelope(BOB, ALICE))
                    except BrokenPipeError:
                        pass
                    os.close(wfd)
                    timer = None
                    if r.random() < 0.4:
                        timer = threading.Timer(r.uniform(0, 0.03), p.kill)
                        timer.start()
                    try:
                        p.communicate(msg, timeout=60)
                    except (BrokenPipeError, OSError):
                        p.wait(60)
                    if timer:
                        timer.cancel()
                    with lock:
                        if p.returncode == 0:
                            acked.add(n)
                        elif p.returncode == -signal.SIGKILL:
                            killed[0] += 1
                        else:
                            refused["direct"][n] = p.returncode

            def sendmail_injector(seed):
                r = random.Random(seed)
                while not stop.is_set():
                    n = next_n()
                    # One in 20 fails for good: bounces are in flight when queue-send dies.
                    to = FAIL if r.random() < 0.05 else ALICE
                    msg = qt.make_message(n, to=to, sender=BOB, size=r.choice([200, 4000, 100000]))
                    res = q.sendmail(["-i", "-f", BOB, to], msg)
                    with lock:
                        if res.returncode == 0:
                            (acked_fail if to == FAIL else acked).add(n)
                        else:
                            refused["sendmail"][n] = res.returncode

            def reaper(seed):
                # SIGKILLs random queue-inject processes of this root (sendmail's children).
                r = random.Random(seed)
                while not stop.is_set():
                    pids = q.pids("queue-inject")
                    if pids and r.random() < 0.5:
                        try:
                            os.kill(r.choice(pids), signal.SIGKILL)
                            with lock:
                                killed[0] += 1
                        except ProcessLookupError:
                            pass
                    time.sleep(r.uniform(0, 0.02))

            threads = [threading.Thread(target=direct_injector, args=(rng.random(),)) for _ in range(3)]
            threads += [threading.Thread(target=sendmail_injector, args=(rng.random(),)) for _ in range(3)]
            threads += [threading.Thread(target=reaper, args=(rng.random(),))]
            for t in threads:
                t.start()
            scheduler_kills = 0

            def kill_and_restart_scheduler():
                # The service's pid (q.pids may also list a child queue-send has
                # forked and not yet exec'ed).
                with open(q.path("run", "queue-send.pid")) as f:
                    pid = int(f.read().strip())
                self.assertIn(pid, q.pids("queue-send"), "queue-send (run/queue-send.pid) is not running")
                # Its supervise too, or it would restart queue-send itself (07-services).
                with open(q.path("run", "queue-send.supervise.pid")) as f:
                    os.kill(int(f.read().strip()), signal.SIGKILL)
                os.kill(pid, signal.SIGKILL)
                qt.wait_for(lambda: pid not in q.pids("queue-send"), 10, "queue-send to die")
                with open(q.path("run", "queue-send.pid")) as f:  # left behind: stale now
                    self.assertEqual(int(f.read().strip() or 0), pid, "run/queue-send.pid")
                time.sleep(rng.uniform(0, 0.5))
                r = q.up(env=RETRY, check=False)
                self.assertEqual(r.returncode, 0, "quail up after kill -9 of queue-send (stale pid): %s %s" %
                                 (r.out, r.err))
                self.assertTrue(q.pids("queue-send"), "quail up did not restart queue-send")

            try:
                deadline = time.monotonic() + self.SECONDS
                while time.monotonic() < deadline:
                    time.sleep(rng.uniform(0.5, 3.0))
                    kill_and_restart_scheduler()
                    scheduler_kills += 1
            finally:
                stop.set()
                for t in threads:
                    t.join(120)
            log("crash: %d acked, %d/%d refused (direct/sendmail), %d queue-inject killed, "
                "queue-send killed %d times" % (len(acked), len(refused["direct"]), len(refused["sendmail"]),
                                                killed[0], scheduler_kills))
            self.assertGreater(len(acked), 50, "too little mail flowed to mean anything")
            self.assertEqual(refused["direct"], {}, "queue-inject refused mail it was not killed for")
            # sendmail reports a killed queue-inject as a temporary failure.
            codes = set(refused["sendmail"].values())
            self.assertTrue(codes <= set(SENDMAIL_TEMP), "sendmail exit codes after a killed queue-inject: %s"
                            % sorted(codes))

            heads = {}

            def missing():
                have = numbers_in(q, ALICE, heads)
                return sorted(acked - set(have))
            try:
                qt.wait_for(lambda: not missing(), 180, "every acknowledged message in the Maildir")
            except AssertionError:
                self.fail("%d acknowledged message(s) never delivered: %s ...; todo=%d mess=%d" %
                          (len(missing()), missing()[:20], len(q.queue_entries("todo")),
                           len(q.queue_entries("mess"))))
            # A queue-inject killed between its link into mess/ and its rename into
            # todo/ leaves a complete message that was never acknowledged: the
            # running queue-send's walk of mess/ finds it (every 0.5 s at this
            # scale; queue-layout/README.md, "Orphans"), no restart needed.
            qt.wait_for(lambda: not q.queue_entries("todo") and not q.queue_entries("mess"), 60, "queue to drain")
            have = numbers_in(q, ALICE, heads)
            dups = {n: c for n, c in have.items() if c > 1}
            extra = sorted(set(have) - acked)
            log("crash: %d delivered, %d duplicates %s, %d delivered without an ack (killed after commit)" %
                (len(have), len(dups), sorted(dups)[:20], len(extra)))
            qt.note("%d acked, %d delivered, %d duplicates, %d bounced, %d queue-inject and %d queue-send kills" %
                    (len(acked), sum(have.values()), sum(c - 1 for c in dups.values()), len(acked_fail),
                     killed[0], scheduler_kills))
            # At least once, not "many times": a kill can only repeat the deliveries in
            # flight (concurrencylocal, default 20) and those not yet recorded.
            self.assertLessEqual(sum(c - 1 for c in dups.values()), 20 * (scheduler_kills + 1),
                                 "far more duplicates than kills of queue-send explain")
            # Bounces: at least one for every acknowledged message to alice-fail, none for
            # alice's (we never bounce for our own trouble). Found by the returned header.
            bounced = {}
            for head in q.maildir_heads(BOB, limit=32768).values():
                m = re.search(rb"X-Quail-Test: (\d+)", head)
                self.assertTrue(m, "a bounce without the returned message's header:\n%r" % head[:2000])
                bounced[int(m.group(1))] = bounced.get(int(m.group(1)), 0) + 1
            self.assertEqual(sorted(set(bounced) & acked), [], "bounced for our own trouble")
            self.assertEqual(sorted(acked_fail - set(bounced)), [], "acknowledged failures never bounced")
            log("crash: %d bounces for %d failing messages, %d duplicate bounces" %
                (sum(bounced.values()), len(acked_fail), sum(c - 1 for c in bounced.values())))
            self.assert_check_clean(q)

    def assert_check_clean(self, q):
        r = q.check()
        log("crash: quail check exit %d, %d file(s) in tmp/: %s" %
            (r.returncode, len(q.queue_entries("tmp")), (r.out + r.err).strip()[:500]))
        if r.returncode != 0:
            findings = [l for l in (r.out + r.err).splitlines() if l.strip()]
            other = [l for l in findings if "tmp" not in l]
            self.assertEqual(other, [], "quail check found more than tmp/ debris:\n%s" % "\n".join(findings))
            rr = q.check(repair=True)
            self.assertIn(rr.returncode, (0, 1), "check --repair: %s %s" % (rr.out, rr.err))
            r = q.check()
        self.assertEqual(r.returncode, 0, "quail check after --repair: %s %s" % (r.out, r.err))


class FullDisk(unittest.TestCase):
    def test_injection_on_a_full_disk_is_a_temporary_failure(self):
        q = qt.Instance()
        mnt = os.path.join(q.tmp, "fs")
        try:
            with qt.tmpfs(mnt, "4m"):
                q.root = os.path.join(mnt, "root")
                q.init("mx." + DOMAIN, [DOMAIN])
                q.add_user(ALICE)
                # The free-space floor off: this is the write that fails (73-resources tests the floor).
                q.write_control("queuefree", "0\n")
                filler = qt.fill_disk(mnt)
                for size in (10, 5000, 3000000):
                    msg = qt.make_message(size, to=ALICE, size=size)
                    code, err = q.queue_inject(msg, qt.envelope(BOB, ALICE))
                    self.assertEqual(code, 53, "queue-inject of %d bytes on a full disk: %d %s" % (size, code, err))
                    r = q.sendmail(["-i", "-f", BOB, ALICE], msg)
                    self.assertIn(r.returncode, SENDMAIL_TEMP,
                                  "sendmail on a full disk: a temporary failure: %d %s" % (r.returncode, r.err))
                    self.assertEqual(q.queue_entries("todo"), [], "a message reached todo/ on a full disk")
                    self.assertEqual(q.queue_entries("tmp"), [], "queue-inject left a partial file in tmp/")
                os.unlink(filler)
                code, err = q.queue_inject(qt.make_message(1, to=ALICE), qt.envelope(BOB, ALICE))
                self.assertEqual(code, 0, "queue-inject after space was freed: %s" % err)
                self.assertEqual(len(q.queue_entries("todo")), 1)
                r = q.check()
                self.assertEqual(r.returncode, 0, "quail check: %s %s" % (r.out, r.err))
                q.down()
        finally:
            q.cleanup()

    def test_delivery_to_a_full_maildir_is_retried(self):
        with qt.Instance() as q:
            q.init("mx." + DOMAIN, [DOMAIN])
            q.add_user(ALICE)
            q.add_user(BOB)
            box = q.maildir(ALICE)
            with qt.tmpfs(box, "1m"):  # hides the Maildir user add made
                try:
                    for sub in ("tmp", "new", "cur"):
                        os.makedirs(os.path.join(box, sub), exist_ok=True)
                    filler = qt.fill_disk(box, ".filler")
                    q.up(env=RETRY)
                    msg = qt.make_message(1, to=ALICE, sender=BOB, size=20000)
                    r = q.sendmail(["-i", "-f", BOB, ALICE], msg)
                    self.assertEqual(r.returncode, 0, r.err)
                    # A set: while queue-send takes it, the file is briefly named in both.
                    ids = sorted(set(q.queue_entries("todo") + q.queue_entries("mess")))
                    self.assertEqual(len(ids), 1, ids)
                    qid = ids[0]

                    def deferred():
                        st = q.path("queue", "stat", qid)
                        try:
                            with open(st) as f:
                                if re.search(r"^T 0 ", f.read(), re.M):
                                    return "stat"
                        except FileNotFoundError:
                            pass
                        for rec in q.log_lines("queue-send"):
                            if qt.inode_of(rec.get("msg", "")) == qid and re.search(r"\b4\.\d+\.\d+|defer|temporar",
                                                                   rec["_line"], re.I):
                                return "log"
                        return None
                    qt.wait_for(deferred, 30, "a temporary failure of msg %s (stat/ T record or log)" % qid)
                    time.sleep(1.5)  # several retries at this scale
                    self.assertEqual(q.maildir_messages(ALICE), [], "delivered to a full disk?")
                    self.assertIn(qid, q.queue_entries("mess") + q.queue_entries("todo"),
                                  "the message left the queue while the disk was full")
                    self.assertEqual(q.maildir_messages(BOB), [], "a full disk made a bounce")
                    os.unlink(filler)
                    got = qt.wait_for(lambda: q.maildir_messages(ALICE), 60, "delivery after space was freed")
                    self.assertEqual(len(got), 1)
                    self.assertEqual(qt.strip_trace(got[0]), qt.strip_trace(msg))
                    qt.wait_for(lambda: q.queue_empty(), 30, "the queue to empty")
                    self.assertEqual(q.maildir_messages(BOB), [], "a bounce after the retry")
                    r = q.check()
                    self.assertEqual(r.returncode, 0, "quail check: %s %s" % (r.out, r.err))
                finally:
                    q.down()  # before the unmount: nothing may hold the Maildir


if __name__ == "__main__":
    unittest.main()
