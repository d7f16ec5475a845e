"""bench/system_delivery.py: a system install's deliveries to a login's ~/Maildir
(issue 13, target 2), for before/after runs of local-spawn outside bench-peers.
Root only. `QUAIL_BIN=DIR /usr/bin/python3 bench/system_delivery.py [N [CONC [PER [single]]]]`
makes `quail init --system` with the programs of DIR (default build/bin), a
throwaway login whose ~/Maildir receives, and sends N messages of ~4 KiB over SMTP
from CONC clients, PER messages per connection (0: all of a client's on one).
With `single`, the same load on a single-user instance (a virtual user's
Maildir, reused workers without uid changes), the issue's yardstick. Prints one
line: build, accept and end-to-end rate, the instance's CPU per message (every
process of the instance with its reaped children, from /proc/<pid>/stat, as
bench/one_per_conn.py counts it), local-spawn's share of it (the server, its
delivery children and workers) and how many processes delivered. It starts
sending 2.5 s after `quail up`, when local-spawn keeps control/. Interleave builds
(A B A B A B) to compare them: the machine's load moves between runs.
"""
import os
import smtplib
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import quailtest as qt  # noqa: E402
from one_per_conn import instance_cpu_s  # noqa: E402

LOGIN = "quailbenchdlv"
HOST = "mx.sysdlv.test"


def spawner_cpu_s(q):
    """CPU seconds of local-spawn's processes (the server with its reaped
    children, and live workers): the delivery side. The scheduler, local-spawn's
    child in a system install, is alive and so not in the server's cutime."""
    total = 0
    for pid in qt.processes_under(q.root, "local-spawn"):
        try:
            fields = qt._proc_read(pid, "stat").split(b")")[-1].split()
        except OSError:
            continue
        total += sum(int(fields[i]) for i in (11, 12, 13, 14))
    return total / os.sysconf("SC_CLK_TCK")


def send(port, rcpt, count, per, body, errors):
    try:
        left = count
        while left > 0:
            batch = left if per == 0 else min(per, left)
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
                for _ in range(batch):
                    s.sendmail("bench@elsewhere.test", [rcpt], body)
            left -= batch
    except Exception as e:  # noqa: BLE001 - reported by the caller
        errors.append(repr(e))


def run(q, port, rcpt, new, n, conc, per):
    body = qt.make_message(0, to=rcpt, sender="bench@elsewhere.test", size=4096).replace(b"\n", b"\r\n")
    before = len(os.listdir(new))
    counts = [n // conc + (1 if i < n % conc else 0) for i in range(conc)]
    errors = []
    cpu0, spawn0 = instance_cpu_s(q), spawner_cpu_s(q)
    start = time.monotonic()
    threads = [threading.Thread(target=send, args=(port, rcpt, c, per, body, errors)) for c in counts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    accepted = time.monotonic() - start
    if errors:
        raise RuntimeError(errors[0][:200])
    qt.wait_for(lambda: len(os.listdir(new)) - before >= n, 600, "%d messages in ~/Maildir/new" % n, interval=0.005)
    delivered = time.monotonic() - start
    qt.wait_for(q.queue_empty, 60, "an empty queue")
    time.sleep(0.3)  # the last children reaped
    cpu, spawn = instance_cpu_s(q) - cpu0, spawner_cpu_s(q) - spawn0
    # The Maildir names carry the delivering process (P<pid>): forks or reused workers.
    pids = {f.split("P", 1)[1].split("Q", 1)[0] for f in os.listdir(new)}
    return accepted, delivered, cpu, spawn, len(pids)


def main():
    if os.geteuid() != 0:
        sys.exit("system_delivery: a system install needs root")
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    conc = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    per = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    single = len(sys.argv) > 4 and sys.argv[4] == "single"
    q = qt.Instance(prefix="quail-bench-sysdlv-")
    pw = None
    try:
        if single:
            q.init(HOST, ["sysdlv.test"])
            rcpt = "alice@sysdlv.test"
            q.add_user(rcpt)
            new = os.path.join(q.maildir(rcpt), "new")
        else:
            pw = qt.add_login(LOGIN, reachable="local-spawn")
            os.chmod(pw.pw_dir, 0o755)
            for sub in ("", "tmp", "new", "cur"):
                os.makedirs(os.path.join(pw.pw_dir, "Maildir", sub), exist_ok=True)
                os.chown(os.path.join(pw.pw_dir, "Maildir", sub), pw.pw_uid, pw.pw_gid)
            os.chmod(q.tmp, 0o755)  # the login reaches ROOT/bin
            q.init(HOST, ["sysdlv.test"], extra=("--system",))
            rcpt = "%s@%s" % (LOGIN, HOST)
            new = os.path.join(pw.pw_dir, "Maildir", "new")
        q.write_control("concurrencyperip", "100\n")
        port = qt.free_port("127.0.0.1")
        q.up(smtp="127.0.0.1:%d" % port)
        # local-spawn keeps control/ only once its files are 2 s old (man/local-spawn.8,
        # "Workers"): measure a running install, not the seconds after an edit.
        time.sleep(2.5)
        run(q, port, rcpt, new, min(n, 100), conc, per)  # warm-up
        accepted, delivered, cpu, spawn, pids = run(q, port, rcpt, new, n, conc, per)
    finally:
        q.cleanup()
        if pw:
            qt.remove_login(LOGIN)
    print("%s%s n=%d conc=%d per=%s accept=%.0f/s e2e=%.0f/s cpu=%.3f ms/msg local-spawn=%.3f ms/msg delivering-processes=%d" % (
        qt.BIN, " single-user" if single else "", n, conc, per or "all", n / accepted, n / delivered, cpu * 1000 / n, spawn * 1000 / n, pids))


if __name__ == "__main__":
    main()
