#!/usr/bin/python3
"""bench/milter_cost.py: what one content filter in the loop costs per message.
One instance, one SMTP session per round sending N messages of 4 KiB one after
the other; rounds alternate between no filter and one pass-through milter (the
e2e test milter on python3-milter in its "pass" mode: it is sent every header and
the body and changes nothing), so the difference is the milter round trips plus
the filter's own time. make bench (run.py) takes the rows from here.
"""
import sys
sys.dont_write_bytecode = True
import os
import smtplib
import statistics
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
import quailtest as qt  # noqa: E402

FILTER = os.path.join(REPO, "tests", "e2e", "53-milter", "milter_filter.py")


def round_ms(port, body, n):
    start = time.monotonic()
    with smtplib.SMTP("127.0.0.1", port, local_hostname="bench.example.test", timeout=60) as s:
        for _ in range(n):
            s.sendmail("bob@example.test", ["alice@example.test"], body)
    return (time.monotonic() - start) * 1000.0 / n


def bench_milter(rows, say, n=200, rounds=3):
    missing = qt.missing("smtpd", "tcpserver")
    if missing or subprocess.run(["/usr/bin/python3", "-c", "import Milter"], capture_output=True).returncode:
        rows.append(("milter cost per message", "not measured", "smtpd or python3-milter missing"))
        return
    port = qt.free_port("127.0.0.1")
    with qt.Instance(prefix="quail-bench-") as q:
        q.init("mx.example.test", ["example.test"])
        q.add_user("alice@example.test", "x-secret-1")
        sock = os.path.join(q.tmp, "pass.sock")
        proc = subprocess.Popen(["/usr/bin/python3", FILTER, "pass", "unix:" + sock],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            qt.wait_for(lambda: os.path.exists(sock), 30, "the pass-through milter")
            time.sleep(0.2)
            q.up(smtp="127.0.0.1:%d" % port)
            body = qt.make_message(0, to="alice@example.test", sender="bob@example.test",
                                   size=4096).replace(b"\n", b"\r\n")
            runs = {"off": [], "on": []}
            for _ in range(rounds):
                for kind in ("off", "on"):
                    q.write_control("milters", "unix:%s\n" % sock if kind == "on" else "")
                    runs[kind].append(round_ms(port, body, n))
            off, on = statistics.median(runs["off"]), statistics.median(runs["on"])
            say("bench: milter off %.2f ms/msg, on %.2f ms/msg" % (off, on))
            rows.append(("SMTP, one session, %d msgs of 4 KiB, no milter" % n, "%.2f ms/msg" % off,
                         "median of %d rounds, interleaved with the next row" % rounds))
            rows.append(("SMTP, same, one pass-through milter (python3-milter)", "%.2f ms/msg" % on,
                         "+%.2f ms per message for the filter's round trips and its own time" % (on - off)))
        finally:
            os.killpg(proc.pid, 9)
            proc.wait(10)


if __name__ == "__main__":
    out = []
    bench_milter(out, lambda *a: print(*a, file=sys.stderr))
    for r in out:
        print(" | ".join(r))
