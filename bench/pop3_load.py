"""bench/pop3_load.py: pop3d's rows of `make bench`.

  - POP3 download: BENCH_POP3_MESSAGES (2,000) messages of 4 KiB written straight
    into a user's Maildir/new, then one poplib session RETRs them all; the clock
    runs from the first RETR to the last reply's end. Messages per second and MB/s.
  - POP3 open: BENCH_POP3_MAILDROP (100,000) small messages in Maildir/new, named as
    local-deliver names them (with their wire size, ",W="); the time from PASS to
    STAT's reply (argon2id check, checkpassword, lock, listing) on the first login
    and the median of three later ones (sizes from the names, no file opened); and
    pop3d's own share (ms= and cpu_ms= of its maildrop event: lock to listing; on a loaded
    machine the CPU figure is the steadier one).
"""
import os
import poplib
import statistics
import time

import quailtest as qt

DOMAIN = "example.test"
PASSWORD = "pop-secret"


def wire_size(body):
    """The octets POP3 sends for body (LF as CRLF, a final CRLF added), stuffing not counted."""
    return len(body) + body.count(b"\n") + (0 if body.endswith(b"\n") else 2)


def fill(maildir, count, body):
    """count copies of body in maildir/new, named as local-deliver names them
    (<unique>,W=<wire size>: man/local-deliver.8)."""
    new = os.path.join(maildir, "new")
    w = wire_size(body)
    for i in range(count):
        fd = os.open(os.path.join(new, "%d.M%dP1Q1.bench,W=%d" % (1700000000 + i // 1000, i, w)),
                     os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, body)
        os.close(fd)


# The load itself, against any POP3 server on 127.0.0.1 (bench/peers/pop3.py runs it
# against Dovecot as well): fill a Maildir, time a download and a login.
LINE = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxy\n"
BODY = b"Subject: bench\n\n" + LINE * 56        # the download's 4 KiB message
SMALL = b"Subject: bulk\n\nsmall message\n"    # the 100,000-message maildrop's


def login(port, user, timeout=600, password=PASSWORD):
    """(session, seconds from PASS to STAT's reply, message count)."""
    p = poplib.POP3("127.0.0.1", port, timeout=timeout)
    p.user(user)
    t = time.monotonic()
    p.pass_(password)
    count = p.stat()[0]
    return p, time.monotonic() - t, count


def download(port, user, n, password=PASSWORD):
    """One session RETRs messages 1..n one at a time: (msg/s, MB/s), from the first
    RETR to the last reply's end. The session ends without QUIT: nothing changes."""
    p, _, count = login(port, user, password=password)
    assert count == n, (count, n)
    t = time.monotonic()
    octets = 0
    for i in range(1, n + 1):
        octets += sum(len(l) + 2 for l in p.retr(i)[1])
    dt = time.monotonic() - t
    p.close()
    return n / dt, octets / dt / 1e6


def server_ms(q, key="ms"):
    recs = [r for r in q.log_lines("pop3") if r.get("event") == "maildrop" and r.get("result") == "open"]
    return int(recs[-1][key]) if recs else None


def bench_pop3(rows, say):
    if qt.missing("pop3d", "checkpassword", "tcpserver"):
        for row in ("POP3 download", "POP3 open, 100,000 messages"):
            rows.append((row, "not measured", "pop3d, checkpassword or tcpserver is not built"))
        return
    n = int(os.environ.get("BENCH_POP3_MESSAGES", "2000"))
    big = int(os.environ.get("BENCH_POP3_MAILDROP", "100000"))
    with qt.Instance(prefix="quail-bench-") as q:
        q.init("mx." + DOMAIN, [DOMAIN])
        port = qt.free_port()
        q.up(pop3="127.0.0.1:%d" % port)
        say("bench: POP3 download, %d messages..." % n)
        user = "reader@" + DOMAIN
        q.add_user(user, PASSWORD)
        fill(q.maildir(user), n, BODY)
        rate, mbs = download(port, user, n)
        rows.append(("POP3 download (poplib, one session, %d x %.1f KiB)" % (n, len(BODY) / 1024.0),
                     "%.0f msg/s, %.1f MB/s" % (rate, mbs),
                     "RETR one at a time, client and pop3d on one machine"))

        say("bench: POP3 open, %d messages..." % big)
        user = "bulk@" + DOMAIN
        q.add_user(user, PASSWORD)
        t = time.monotonic()
        fill(q.maildir(user), big, SMALL)
        say("bench: %d files made in %.1f s" % (big, time.monotonic() - t))
        times, shares, cpus = [], [], []
        for _ in range(4):
            p, dt, count = login(port, user)
            assert count == big
            p.close()
            qt.wait_for(lambda: server_ms(q) is not None and len(shares) < 4, 60, "the session's log")
            times.append(dt)
            shares.append(server_ms(q))
            cpus.append(server_ms(q, "cpu_ms"))
            qt.wait_for(lambda: not [x for x in qt.processes_under(q.root, "pop3d")
                                     if b"transaction" in qt._proc_read(x, "cmdline")], 120, "the session ended")
        rows.append(("POP3 open, %d messages (PASS to STAT reply)" % big,
                     "%.2f s (first login: %.2f s)" % (statistics.median(times[1:]), times[0]),
                     "median of 3 later logins; sizes from the names (,W=), no message opened; pop3d's lock+listing %d ms, %d ms of it CPU "
                     "(first login %d ms, %d ms CPU); the rest is checkpassword's argon2id"
                     % (statistics.median(shares[1:]), statistics.median(cpus[1:]), shares[0], cpus[0])))
