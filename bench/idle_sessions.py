"""bench/idle_sessions.py: many idle SMTP sessions at once (issue 13, target 4).

Opens N connections to a server one after another, each reading the greeting and
the reply to EHLO, and keeps them all open. Then reads, for every process of the
system: PSS (/proc/<pid>/smaps_rollup: shared pages split between the processes
that map them) and the count of processes; and times new sessions (connect,
greeting, EHLO reply), 20 before the N are opened and 20 while they are held.
Used by `make bench` (quail alone, bench/run.py) and by bench-peers (quail and
Postfix with matching process limits, bench/peers/idle.py). Run alone:

    bench/idle_sessions.py [N]     # a fresh quail instance, N (1000) sessions

The client needs N descriptors: the soft RLIMIT_NOFILE is raised to the hard one.
"""
import sys
sys.dont_write_bytecode = True
import os
import resource
import socket
import statistics
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
import quailtest as qt  # noqa: E402

PROBES = 20


def _reply(s):
    """Reads one SMTP reply (its last line); raises on EOF. Nothing is pipelined here."""
    buf = b""
    while True:
        while b"\r\n" not in buf:
            data = s.recv(4096)
            if not data:
                raise OSError("connection closed")
            buf += data
        line, buf = buf.split(b"\r\n", 1)
        if line[3:4] != b"-":
            return line


def open_session(port, timeout=30):
    """Connects, reads the greeting, says EHLO; the socket when the reply is 250, else None."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if not _reply(s).startswith(b"220"):
            s.close()
            return None
        s.sendall(b"EHLO idle.bench.test\r\n")
        if not _reply(s).startswith(b"250"):
            s.close()
            return None
        return s
    except OSError:
        s.close()
        return None


def latency_ms(port):
    """Median ms of PROBES new sessions (connect, greeting, EHLO, QUIT after)."""
    times = []
    for _ in range(PROBES):
        t = time.monotonic()
        s = open_session(port)
        times.append((time.monotonic() - t) * 1000)
        if s:
            try:
                s.sendall(b"QUIT\r\n")
                _reply(s)
            except OSError:
                pass
            s.close()
    return statistics.median(times)


def pss_kib(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return "?"


def raise_fd_limit(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(n + 64, soft)), hard))


def measure(port, n, pids_fn, holder):
    """Holds n idle sessions on port. pids_fn() lists the system's processes; holder
    is the name (comm) of the per-session process (smtpd). Returns a dict."""
    raise_fd_limit(n)
    pids0 = pids_fn()
    base_pss = sum(pss_kib(p) for p in pids0)
    before = latency_ms(port)
    held = []
    t = time.monotonic()
    try:
        for _ in range(n):
            s = open_session(port)
            if s:
                held.append(s)
        opened_s = time.monotonic() - t
        time.sleep(1.0)  # every session at rest: greeted, EHLO answered, waiting
        pids = pids_fn()
        pss = {p: pss_kib(p) for p in pids}
        holders = [p for p in pids if comm(p) == holder]
        during = latency_ms(port)
        return {"asked": n, "accepted": len(held), "open_s": opened_s, "processes": len(pids),
                "holders": len(holders), "holders_pss_kib": sum(pss[p] for p in holders),
                "system_pss_kib": sum(pss.values()), "base_pss_kib": base_pss,
                "latency_before_ms": before, "latency_during_ms": during}
    finally:
        for s in held:
            try:
                s.close()
            except OSError:
                pass


def describe(r):
    per = r["holders_pss_kib"] / max(r["holders"], 1)
    return ("%d of %d accepted; %d %s processes, PSS %.1f MiB (%.0f KiB each); whole system %.1f MiB "
            "(%.1f MiB before); new session %.2f ms idle, %.2f ms with them held"
            % (r["accepted"], r["asked"], r["holders"], r.get("holder", "holding"), r["holders_pss_kib"] / 1024,
               per, r["system_pss_kib"] / 1024, r["base_pss_kib"] / 1024, r["latency_before_ms"],
               r["latency_during_ms"]))


def quail_instance(n, prefix="quail-bench-idle-"):
    """A fresh quail instance whose limits take n sessions from 127.0.0.1."""
    q = qt.Instance(prefix=prefix)
    q.init("mx.example.test", ["example.test"])
    q.write_control("concurrencyincoming", "%d\n" % (n + PROBES + 10))
    q.write_control("concurrencyperip", "%d\n" % (n + PROBES + 10))
    q.write_control("concurrencypernet", "%d\n" % (n + PROBES + 10))  # every client is 127.0.0.1
    return q


def bench_idle(rows, say, n):
    if qt.missing("smtpd", "tcpserver"):
        rows.append(("%d idle SMTP sessions" % n, "not measured", "smtpd or tcpserver not built"))
        return
    say("bench: %d idle SMTP sessions..." % n)
    port = qt.free_port("127.0.0.1")
    q = quail_instance(n)
    try:
        q.up(smtp="127.0.0.1:%d" % port)
        r = measure(port, n, lambda: qt.processes_under(q.root), "smtpd")
        r["holder"] = "smtpd"
    finally:
        q.cleanup()
    rows.append(("%d idle SMTP sessions (after EHLO), PSS of their smtpd processes" % n,
                 "%.1f MiB" % (r["holders_pss_kib"] / 1024), describe(r)))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rows = []
    bench_idle(rows, lambda *a: print(*a, file=sys.stderr), n)
    for r in rows:
        print("| %s | %s | %s |" % r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
