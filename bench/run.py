#!/usr/bin/python3
"""bench/run.py: quail's own throughput and memory figures (`make bench`).

  1. local pipeline: N messages (default 2,000) through sendmail, 8 injections at
     a time; the clock starts at the first injection and stops when the N-th file
     is in the user's Maildir/new. Also the injection rate alone (until the last
     sendmail exits).
  2. if smtpd and tcpserver are built: SMTP accept rate, 8 concurrent smtplib
     sessions sending N messages of 4 KiB in total (one session per thread, many
     transactions each); the clock stops at the last 250 after DATA.
  3. resident memory (VmRSS) of one idle smtpd session, of tcpserver and of
     queue-send.
  3b. one message per connection (bench/one_per_conn.py): 8 smtplib clients, each
     message over its own connection; accept and end-to-end rates, the
     instance's CPU per message.
  3c. 1,000 idle SMTP sessions at once (bench/idle_sessions.py, BENCH_IDLE): how
     many are accepted, the PSS of their smtpd processes, a new session's latency.
  4. if remote-deliver is built: the remote relay (bench/relay.py), 8 smtplib
     sessions in, up to 1,000 messages to one domain routed to a local sink.
  4b. the cost of one SMTP session, one at a time (bench/session_cost.py):
     plaintext, with STARTTLS, and with implicit TLS (BENCH_SESSIONS, 300).
  4c. DKIM: CPU per message to sign (Ed25519, RSA-2048) and to verify
     (bench/dkim_cost.py, BENCH_DKIM runs, 100).
  4c. one milter in the loop (bench/milter_cost.py): ms per message in one
     session without a filter and with one pass-through milter, interleaved.
  5. queue-send with a big queue (bench/queue_load.py): its memory with 100,000
     deferred messages queued, and its CPU per new message with 100 and with
     100,000 deferred messages queued (interleaved rounds of 1,000). Last, because
     it creates and deletes 200,000 files.

Prints a markdown table and writes it to bench/results/latest.md. See
bench/README.md for how to read it. Options (environment): BENCH_MESSAGES (2000),
BENCH_CONCURRENCY (8), BENCH_QUEUED (100000), BENCH_QUEUE_NEW (1000), BENCH_IDLE
(1000), QUAIL_BIN.
"""
import sys
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import os
import platform
import smtplib
import socket
import subprocess
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
sys.path.insert(0, HERE)
import quailtest as qt  # noqa: E402
import pop3_load  # noqa: E402
import queue_load  # noqa: E402
import relay  # noqa: E402
import list_load  # noqa: E402
import one_per_conn  # noqa: E402
import idle_sessions  # noqa: E402
import session_cost  # noqa: E402
import dkim_cost  # noqa: E402
import abuse_load  # noqa: E402
import milter_cost  # noqa: E402

N = int(os.environ.get("BENCH_MESSAGES", "2000"))
CONC = int(os.environ.get("BENCH_CONCURRENCY", "8"))
DOMAIN = "example.test"
ALICE = "alice@" + DOMAIN
BOB = "bob@" + DOMAIN
DEADLINE = 150  # seconds for any one phase; the whole bench stays near 2 minutes


def say(*a):
    print(*a, file=sys.stderr, flush=True)


def new_instance():
    q = qt.Instance(prefix="quail-bench-")
    q.init("mx." + DOMAIN, [DOMAIN])
    q.add_user(ALICE, "alice-secret")
    return q


def bench_local(rows):
    with new_instance() as q:
        q.up()
        msgs = [qt.make_message(i, to=ALICE, sender=BOB, size=2000) for i in range(N)]
        errors = []

        def one(i):
            r = q.sendmail(["-i", "-f", BOB, ALICE], msgs[i])
            if r.returncode != 0:
                errors.append((i, r.returncode, r.err.strip()))
        new = os.path.join(q.maildir(ALICE), "new")
        start = time.monotonic()
        qt.run_parallel(one, range(N), CONC)
        injected = time.monotonic() - start
        if errors:
            raise RuntimeError("sendmail failed %d times, first: %r" % (len(errors), errors[0]))
        qt.wait_for(lambda: len(os.listdir(new)) >= N, DEADLINE, "%d messages in Maildir/new" % N, interval=0.005)
        delivered = time.monotonic() - start
        rss = {name: [qt.rss_kib(p) for p in q.pids(name)] for name in ("queue-send",)}
    rows.append(("sendmail -> Maildir/new, %d msgs of ~2 KiB, %d at a time" % (N, CONC),
                 "%.0f msg/s" % (N / delivered), "%.1f s" % delivered))
    rows.append(("sendmail injection alone (until the last sendmail exits)",
                 "%.0f msg/s" % (N / injected), "%.1f s" % injected))
    if rss["queue-send"]:
        rows.append(("queue-send resident memory", "%d KiB" % max(rss["queue-send"]), "after the sendmail run"))


def bench_smtp(rows):
    missing = qt.missing("smtpd", "tcpserver")
    if missing:
        rows.append(("SMTP accept rate", "not measured", "not built: " + ", ".join(missing)))
        return
    port = qt.free_port("127.0.0.1")
    with new_instance() as q:
        q.up(smtp="127.0.0.1:%d" % port)
        body = qt.make_message(0, to=ALICE, sender=BOB, size=4096).replace(b"\n", b"\r\n")
        per = [N // CONC + (1 if i < N % CONC else 0) for i in range(CONC)]
        errors = []
        done = [0]
        lock = threading.Lock()
        barrier = threading.Barrier(CONC + 1)

        def session(count):
            try:
                s = smtplib.SMTP("127.0.0.1", port, timeout=60)
                s.ehlo("bench.example.test")
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
                barrier.wait()
                return
            barrier.wait()
            try:
                for _ in range(count):
                    s.sendmail(BOB, [ALICE], body)
                    with lock:
                        done[0] += 1
                s.quit()
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))
        threads = [threading.Thread(target=session, args=(c,)) for c in per]
        for t in threads:
            t.start()
        barrier.wait()
        start = time.monotonic()
        for t in threads:
            t.join(DEADLINE)
        accepted = time.monotonic() - start
        if errors:
            rows.append(("SMTP accept rate", "failed", errors[0][:120]))
        else:
            rows.append(("SMTP accept, %d sessions, %d msgs of 4 KiB (250 after DATA)" % (CONC, done[0]),
                         "%.0f msg/s" % (done[0] / accepted), "%.1f s" % accepted))
            new = os.path.join(q.maildir(ALICE), "new")
            qt.wait_for(lambda: len(os.listdir(new)) >= done[0], DEADLINE, "SMTP mail in Maildir/new",
                        interval=0.005)
            delivered = time.monotonic() - start
            rows.append(("SMTP -> Maildir/new, same run", "%.0f msg/s" % (done[0] / delivered),
                         "%.1f s" % delivered))
        # One idle session: connect, read the greeting, measure its smtpd.
        before = set(q.pids("smtpd"))
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.recv(512)
            pids = qt.wait_for(lambda: sorted(set(q.pids("smtpd")) - before), 10, "the idle smtpd")
            time.sleep(0.2)
            rss = qt.rss_kib(pids[0])
            rows.append(("smtpd resident memory, one idle session", "%s KiB" % rss, "VmRSS after the greeting"))
            for name in ("tcpserver", "queue-send"):
                p = q.pids(name)
                if p:
                    rows.append(("%s resident memory" % name, "%d KiB" % max(qt.rss_kib(x) or 0 for x in p),
                                 "after the SMTP run"))


def bench_sessions(rows):
    """One session at a time: what a connection costs with and without TLS (issue 11:
    the plaintext figure must not rise when TLS is added; bench/README.md)."""
    missing = qt.missing("smtpd", "tcpserver", "tlsd", "checkpassword")
    if missing:
        rows.append(("SMTP session cost", "not measured", "not built: " + ", ".join(missing)))
        return
    n = int(os.environ.get("BENCH_SESSIONS", "300"))
    plain, smtps = qt.free_port("127.0.0.1"), qt.free_port("127.0.0.1")
    with new_instance() as q:
        q.up(smtp="127.0.0.1:%d" % plain, smtps="127.0.0.1:%d" % smtps)
        pid = {name: int(open(q.path("run", name + ".pid")).read().split()[0]) for name in ("smtp", "smtps")}
        # The resident tlsd's CPU (its own and its reaped children's) is the STARTTLS sessions' too.
        session_cost.RESIDENT[:] = [int(open(q.path("run", "tlsd.pid")).read().split()[0])]
        runs = {"plain": [], "starttls": [], "implicit": []}
        for _ in range(3):  # interleaved, medians
            for kind, port, service in (("plain", plain, "smtp"), ("starttls", plain, "smtp"),
                                        ("implicit", smtps, "smtps")):
                runs[kind].append(session_cost.ms_per_session(port, kind, n, pid[service]))

    def med(kind):
        wall = sorted(w for w, _ in runs[kind])[1]
        cpus = sorted(c for _, c in runs[kind] if c is not None)
        return "%.2f ms" % wall, ("its programs' CPU %.2f ms; " % cpus[len(cpus) // 2]) if cpus else ""
    for kind, what in (("plain", "SMTP session, plaintext (connect, EHLO, QUIT), one at a time"),
                       ("starttls", "SMTP session with STARTTLS (tlsd forked by the resident tlsd, TLS handshake, EHLO again)"),
                       ("implicit", "SMTP session with implicit TLS (port 465: smtpd starts TLS first, through the resident tlsd)")):
        wall, cpu = med(kind)
        rows.append((what, wall, "%smedian of 3 x %d sessions, the three kinds interleaved%s" %
                     (cpu, n, "; smtpd never loads OpenSSL" if kind == "plain" else "")))


def git_commit():
    """HEAD, and how many tracked files outside bench/ differ from it: the programs
    measured are built from the working tree."""
    try:
        head = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        st = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                            capture_output=True, text=True, timeout=30).stdout.splitlines()
    except OSError:
        return "?"
    dirty = [l for l in st if not l[3:].startswith("bench/")]
    return head + (" + uncommitted changes in %d files" % len(dirty) if dirty else "")


def main():
    need = qt.missing("quail", "sendmail", "queue-inject", "queue-send", "local-deliver")
    if need:
        say("bench: programs not built: %s (in %s)" % (", ".join(need), qt.BIN))
        return 1
    rows = []
    t0 = time.monotonic()
    say("bench: local pipeline, %d messages..." % N)
    bench_local(rows)
    say("bench: SMTP...")
    bench_smtp(rows)
    one_per_conn.bench_one_per_connection(rows, say, N, CONC, DEADLINE)
    idle_sessions.bench_idle(rows, say, int(os.environ.get("BENCH_IDLE", "1000")))
    relay.bench_relay(rows, say, min(N, 1000), CONC, DEADLINE)
    dkim_cost.bench_dkim(rows, say)
    say("bench: SMTP session cost, plaintext and TLS...")
    bench_sessions(rows)
    say("bench: one milter in the loop...")
    milter_cost.bench_milter(rows, say)
    queue_load.bench_queue(rows, say)
    list_load.bench_list(rows, say)
    pop3_load.bench_pop3(rows, say)
    abuse_load.bench_abuse(rows, say)
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    except OSError:
        pass
    lines = ["# quail bench", "",
             "commit %s, %s, %d CPU (%s), kernel %s, %s" %
             (git_commit(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.cpu_count(), cpu,
              platform.release(), "root fs " + (subprocess.run(["findmnt", "-no", "FSTYPE", "-T", "/tmp"],
                                                               capture_output=True, text=True).stdout.strip()
                                                or "?")),
             "",
             "| measurement | result | notes |",
             "|---|---|---|"]
    lines += ["| %s | %s | %s |" % r for r in rows]
    lines += ["", "total bench time %.0f s" % (time.monotonic() - t0)]
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "latest.md"), "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
