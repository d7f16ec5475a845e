"""bench/relay.py: the remote relay row of `make bench` (bench/README.md).

8 smtplib sessions from 127.0.0.1 (relay rights) hand N messages of ~4 KiB for
one remote domain to quail's smtpd; control/smtproutes sends that domain to a
sink on 127.0.0.1 (tests/e2e/65-remote/smtp_peer.py: PIPELINING, 8BITMIME, no
TLS). The clock runs from the first injection to the sink's N-th accepted
message. CPU per message: remote-deliver (queue-send's reaped children,
cutime+cstime of /proc/<pid>/stat, read once the kept runs have ended, 5 s idle
after the last message) and queue-send itself (utime+stime), over the run,
divided by N. `python3 bench/relay.py [N]` runs this row alone (QUAIL_BIN picks
the programs, so two builds can be compared in interleaved runs).
"""
import os
import smtplib
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e", "65-remote"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
import quailtest as qt  # noqa: E402
from smtp_peer import Peer  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    """(own, reaped children's) CPU of a process in seconds."""
    fields = qt._proc_read(pid, "stat").split(b")")[-1].split()
    ut, st, cut, cst = (int(fields[i]) for i in (11, 12, 13, 14))
    return (ut + st) / TICK, (cut + cst) / TICK


def bench_relay(rows, say, n, conc, deadline):
    if qt.missing("remote-deliver", "smtpd", "tcpserver"):
        rows.append(("remote relay, quail -> a local SMTP sink", "not measured", "remote-deliver, smtpd or tcpserver not built"))
        return
    say("bench: remote relay, %d messages..." % n)
    sink = Peer(ehlo=["PIPELINING", "8BITMIME", "SIZE 100000000"]).start()
    port = qt.free_port()
    q = qt.Instance(prefix="quail-bench-relay-")
    try:
        q.init("mx.example.test", ["example.test"])
        q.write_control("smtproutes", "relay.test:[127.0.0.1]:%d\n" % sink.port)
        q.up(smtp="127.0.0.1:%d" % port)
        sender = qt.wait_for(lambda: q.pids("queue-send"), 10, "queue-send")[0]
        body = qt.make_message(0, to="sink@relay.test", sender="bob@example.test", size=4096).replace(b"\n", b"\r\n")
        per = [n // conc + (1 if i < n % conc else 0) for i in range(conc)]
        errors = []

        def session(count):
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
                    for _ in range(count):
                        s.sendmail("bob@example.test", ["sink@relay.test"], body)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
        own0, kids0 = cpu_ticks(sender)
        start = time.monotonic()
        threads = [threading.Thread(target=session, args=(c,)) for c in per]
        for t in threads:
            t.start()
        for t in threads:
            t.join(deadline)
        if errors:
            rows.append(("remote relay, quail -> a local SMTP sink", "failed", errors[0][:120]))
            return
        qt.wait_for(lambda: len(sink.messages()) >= n, deadline, "the sink's messages", interval=0.01)
        took = time.monotonic() - start
        qt.wait_for(lambda: q.queue_empty(), 30, "an empty queue")
        # Kept runs end 5 s after their last job; their CPU is queue-send's children's once reaped.
        qt.wait_for(lambda: not q.pids("remote-deliver"), 30, "the remote-deliver runs' end", interval=0.05)
        own1, kids1 = cpu_ticks(sender)
        rows.append(("remote relay, %d SMTP sessions in, %d msgs of 4 KiB to a local sink" % (conc, n),
                     "%.0f msg/s" % (n / took),
                     "%.1f s; CPU per message: remote-deliver %.2f ms, queue-send %.2f ms; %d sink connections" %
                     (took, (kids1 - kids0) * 1000 / n, (own1 - own0) * 1000 / n, len(sink.sessions))))
    finally:
        q.cleanup()
        sink.stop()


if __name__ == "__main__":
    out = []
    bench_relay(out, lambda t: print(t, file=sys.stderr), int(sys.argv[1]) if len(sys.argv) > 1 else 1000, 8, 300)
    for r in out:
        print("| %s | %s | %s |" % r)
