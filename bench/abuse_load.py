"""abuse_load: what the abuse controls cost (`make bench`, issue 15).

  - SMTP accept rate with DNSBL + greylisting + rate limits on, with the mail
    authentication checks on (mailauth: SPF and DMARC pass), and with all of
    them (every check
    passes: the client's network is allowlisted for greylisting after its first
    pass, the DNS list does not list it, the limits are high) against all off.
    One message per session, from 127.0.9.1 (not a relay client, so every check
    runs), SESSIONS sessions 8 at a time: the checks are per connection and per
    recipient, so this is the worst case for them.
  - The store's update rate (build/bench/store-bench) with 8 and 32 writer
    processes, LMDB and (when redis-server is installed) Redis on loopback.
"""
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e", "52-abuse"))
import quailtest as qt  # noqa: E402

SESSIONS = int(os.environ.get("BENCH_ABUSE_SESSIONS", "600"))
CONC = 8
ALICE = "alice@example.test"


def _accept_rate(q, port):
    body = qt.make_message(0, to=ALICE, sender="bob@sender.test", size=2048).replace(b"\n", b"\r\n")
    errors = []

    def one(_):
        try:
            s = smtplib.SMTP(timeout=60, source_address=("127.0.9.1", 0))
            s.connect("127.0.0.1", port)
            s.sendmail("bob@sender.test", [ALICE], body)
            s.quit()
        except Exception as e:  # noqa: BLE001 - reported
            errors.append(repr(e))
    one(0)  # the first passes greylisting's allowlisted network (below) and warms up
    start = time.monotonic()
    qt.run_parallel(one, range(SESSIONS), CONC)
    took = time.monotonic() - start
    if errors:
        raise RuntimeError("%d sessions failed, first: %s" % (len(errors), errors[0][:200]))
    return SESSIONS / took


def bench_accept(rows, say):
    import test_abuse as ta  # its dnsmasq starter
    # sender.test publishes SPF for the client and a DMARC record, so mailauth's
    # checks (issue 14) pass: spf=pass, dkim=none (unsigned), dmarc=pass.
    dns, dns_port = ta.start_dnsmasq(["--address=/2.0.0.127.bl.test/127.0.0.2",
                                      "--txt-record=sender.test,v=spf1 ip4:127.0.9.0/24 -all",
                                      "--txt-record=_dmarc.sender.test,v=DMARC1; p=none"])
    abuse = (("greylist", 1), ("ratelimitconnections", 1000000), ("ratelimitmessages", 1000000),
             ("ratelimitrecipients", 1000000))
    off = tuple((name, 0) for name in ("ratelimitconnections", "ratelimitmessages", "ratelimitrecipients",
                                       "tarpitcount", "tarpitmax"))
    configs = (
        ("off", off),
        ("greylisting + limits on, no DNSBL", abuse),
        ("on (DNSBL + greylisting + limits, all passing)", abuse + (("dnsbl", "bl.test"),)),
        ("mail authentication on (SPF + DMARC pass, DKIM none)", off + (("authcheck", 1),)),
        ("everything on (DNSBL, greylisting, limits, SPF, DMARC)", abuse + (("dnsbl", "bl.test"), ("authcheck", 1))),
    )
    try:
        for what, controls in configs:
            with qt.Instance(prefix="quail-bench-") as q:
                q.init()
                q.add_user(ALICE, "alice-secret")
                for name, value in controls + (("dnsservers", "127.0.0.1@%d" % dns_port),):
                    q.write_control(name, "%s\n" % value)
                q.quail("grey", "allow", "127.0.9.0/24")
                port = qt.free_port()
                q.up(smtp="127.0.0.1:%d" % port)
                say("bench: SMTP sessions with abuse controls %s..." % what)
                rate = _accept_rate(q, port)
                rows.append(("SMTP sessions of 1 msg from a non-relay client, 8 at a time, abuse controls %s" % what,
                             "%.0f msg/s" % rate, "%d sessions" % SESSIONS))
    finally:
        dns.terminate()
        dns.wait(10)


def bench_store(rows, say):
    tool = os.path.join(os.path.dirname(qt.BIN), "bench", "store-bench")
    if not os.access(tool, os.X_OK):
        rows.append(("store update rate", "not measured", "build/bench/store-bench not built"))
        return
    targets = []
    tmp = tempfile.mkdtemp(prefix="quail-bench-store-")
    redis = None
    try:
        targets.append(("LMDB", os.path.join(tmp, "store")))
        if shutil.which("redis-server"):
            port = qt.free_port()
            redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", tmp],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            targets.append(("Redis", "redis://127.0.0.1:%d" % port))
        for name, where in targets:
            for writers in (8, 32):
                say("bench: store %s, %d writers..." % (name, writers))
                r = subprocess.run([tool, where, str(writers), str(8000 // writers)], capture_output=True,
                                   text=True, timeout=300)
                if r.returncode != 0:
                    rows.append(("store update rate, %s, %d writers" % (name, writers), "failed", r.stderr[:120]))
                    continue
                updates, secs, rate, lost = r.stdout.split()
                rows.append(("store update rate, %s, %d writer processes" % (name, writers),
                             "%s updates/s" % rate,
                             "%s updates (2 keys each) in %s s, %s lost" % (updates, secs, lost)))
    finally:
        if redis:
            redis.terminate()
            redis.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


def bench_abuse(rows, say):
    bench_store(rows, say)
    if shutil.which("dnsmasq"):
        bench_accept(rows, say)
