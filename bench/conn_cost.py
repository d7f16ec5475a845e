#!/usr/bin/python3
"""bench/conn_cost.py: where one connection's CPU goes, by program, with one
message per connection (issue 13). Root only (perf).

    bench/conn_cost.py [--connections N] [--conc C] [--client relay|mx] [--rounds R] [--ab DIR_A DIR_B] [--system]
                       [--resident-ab [mailauth|dnsbl]] [--dnsbl]

A fresh single-user instance (`quail init` defaults, one virtual user), C python
smtplib clients sending N messages of ~4 KiB, each over its own connection, after
50 to warm up. `--client relay` connects from 127.0.0.1 (relay rights, as
bench-peers' smtp-source); `--client mx` from 127.0.9.1, a client without relay
rights as an MX peer is, with the default control/authcheck 1 (mailauth: SPF and
DMARC against a dnsmasq on loopback that publishes SPF and DMARC for the sender).

While the clients run, `perf record -e cpu-clock -c 50000` follows the instance's
daemons and everything they start (inherited counters, no other process): each
sample is 50 us of CPU, charged to the sampled thread's name (comm: the program
after its exec; queue-inject forked by smtpd names itself). The same perf run
counts sched_process_exec and sched_process_fork events by program: the process
starts. Prints CPU us per connection and starts per connection by program, and the
instance's whole CPU from /proc (utime+stime+cutime+cstime) as a check; R rounds
give medians. `--system`: a `quail init --system` instance instead (the same
virtual user, so deliveries run as quail-mail; smtpd as quail-smtpd, its
sessions through the resident queue-inject). `--ab DIR_A DIR_B` compares two builds interleaved (A B A B ...)
on one instance: before each round every ROOT/bin link is pointed into DIR_A or
DIR_B (copies of build/bin), so the programs started per connection and per
session (smtpd, its queue-inject, mailauth) are that build's; the daemons
(tcpserver, queue-send, local-spawn and its workers) stay the first build's.
`--resident-ab`: rounds alternate between smtpd exec'ing mailauth per session
(ROOT/run/mailauth.sock moved aside, so the connect fails as with no resident
helper) and the resident mailauth -d forking it (--client mx to be asked at all).
`--dnsbl`: control/dnsbl names one zone (bl.test, which the dnsmasq answers
NXDOMAIN for: the client is not listed), so every connection from a client
without relay rights is looked up (--client mx); `--resident-ab dnsbl` then
alternates between the dnsbl program exec'd in front of smtpd (ROOT/run/dnsbl.sock
moved aside) and the resident dnsbl -d answering smtpd.
"""
import sys
sys.dont_write_bytecode = True
import argparse
import collections
import os
import re
import smtplib
import statistics
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
import quailtest as qt  # noqa: E402

PERIOD_NS = 50000
TICK = os.sysconf("SC_CLK_TCK")
RCPT = "alice@example.test"
SENDER = "bob@sender.test"


def instance_cpu_s(q):
    total = 0
    for pid in qt.processes_under(q.root):
        try:
            fields = qt._proc_read(pid, "stat").split(b")")[-1].split()
            total += sum(int(fields[i]) for i in (11, 12, 13, 14))
        except (OSError, IndexError):
            continue
    return total / TICK


def send(port, n, conc, source):
    body = qt.make_message(0, to=RCPT, sender=SENDER, size=4096).replace(b"\n", b"\r\n")
    per = [n // conc + (1 if i < n % conc else 0) for i in range(conc)]
    errors = []

    def client(count):
        try:
            for _ in range(count):
                with smtplib.SMTP(timeout=60, source_address=(source, 0)) as s:
                    s.connect("127.0.0.1", port)
                    s.sendmail(SENDER, [RCPT], body)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))
    threads = [threading.Thread(target=client, args=(c,)) for c in per]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(errors[0][:200])


def log_count(q, what):
    try:
        with open(q.path("log", "smtp.log"), errors="replace") as f:
            return f.read().count(what)
    except OSError:
        return 0


def helper_failures(q):
    # The exec'd dnsbl's rounds log each connection's retry: that is the variant, not a failure.
    return log_count(q, "event=mailauth ") + log_count(q, "event=dnsbl ") - log_count(q, "event=dnsbl result=retry")


def one_round(q, port, n, conc, source):
    failed0 = helper_failures(q)
    new = os.path.join(q.maildir(RCPT), "new")
    before = len(os.listdir(new)) if os.path.isdir(new) else 0
    data = tempfile.mktemp(prefix="quail-conn-cost-", suffix=".data")
    for _ in range(10):
        # A session that ends between the listing and perf's attach makes perf exit: list again.
        pids = [str(p) for p in qt.processes_under(q.root)]
        perf = subprocess.Popen(["perf", "record", "-q", "-o", data, "-e", "cpu-clock", "-c", str(PERIOD_NS),
                                 "-e", "sched:sched_process_exec", "-e", "sched:sched_process_fork",
                                 "-p", ",".join(pids)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # perf attached
        if perf.poll() is None:
            break
    else:
        raise RuntimeError("perf could not follow the instance's processes")
    cpu0 = instance_cpu_s(q)
    send(port, n, conc, source)
    qt.wait_for(lambda: len(os.listdir(new)) - before >= n, 300, "%d messages delivered" % n)
    qt.wait_for(q.queue_empty, 60, "an empty queue")
    time.sleep(0.5)  # the last workers' and smtpd's CPU reaped
    cpu = instance_cpu_s(q) - cpu0
    if helper_failures(q) != failed0:
        # A helper that fails lets mail through unchecked and costs less: not a figure.
        raise RuntimeError("a helper failed in this round (smtp.log: event=mailauth or event=dnsbl)")
    perf.send_signal(2)
    perf.wait(60)
    out = subprocess.run(["perf", "script", "-i", data, "-F", "comm,event,trace"], capture_output=True,
                         text=True).stdout
    if not os.path.exists(data):
        raise RuntimeError("perf wrote nothing (a process it was to follow had ended?)")
    os.unlink(data)
    samples, execs, forks = collections.Counter(), collections.Counter(), collections.Counter()
    for line in out.splitlines():
        m = re.match(r"\s*(.+?)\s+(cpu-clock|sched:sched_process_exec|sched:sched_process_fork):?\s*(.*)", line)
        if not m:
            continue
        comm, event, rest = m.groups()
        if event == "cpu-clock":
            samples[comm] += 1
        elif event.endswith("exec"):
            f = re.search(r"filename=(\S+)", rest)
            execs[os.path.basename(f.group(1)) if f else comm] += 1
        else:
            forks[comm] += 1
    return cpu, samples, execs, forks


def point_bin(q, directory):
    bin_dir = q.path("bin")
    for name in os.listdir(bin_dir):
        target = os.path.join(directory, name)
        if os.path.exists(target):
            link = os.path.join(bin_dir, name)
            os.symlink(target, link + ".new")
            os.replace(link + ".new", link)


def report(n, rounds, label):
    comms = sorted({c for r in rounds for c in r[1]}, key=lambda c: -statistics.median(r[1][c] for r in rounds))
    print("%s: medians over %d rounds, per connection" % (label, len(rounds)))
    print("| program | CPU us | execs | forks/clones |")
    print("|---|---|---|---|")
    names = comms + sorted({c for r in rounds for c in list(r[2]) + list(r[3])} - set(comms))
    for c in names:
        us = statistics.median(r[1][c] for r in rounds) * PERIOD_NS / 1000 / n
        ex = statistics.median(r[2][c] for r in rounds) / n
        fk = statistics.median(r[3][c] for r in rounds) / n
        print("| %s | %.0f | %.2f | %.2f |" % (c, us, ex, fk))
    total = [sum(r[1].values()) * PERIOD_NS / 1000 / n for r in rounds]
    print("| all (perf) | %.0f | %.2f | %.2f |" % (statistics.median(total),
                                                    statistics.median(sum(r[2].values()) for r in rounds) / n,
                                                    statistics.median(sum(r[3].values()) for r in rounds) / n))
    print("rounds (perf): %s us; instance CPU from /proc: %s us per connection" % (
        ", ".join("%.0f" % t for t in total), ", ".join("%.0f" % (r[0] * 1e6 / n) for r in rounds)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=500)
    ap.add_argument("--conc", type=int, default=8)
    ap.add_argument("--client", choices=("relay", "mx"), default="relay")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ab", nargs=2, metavar=("DIR_A", "DIR_B"))
    ap.add_argument("--system", action="store_true", help="a system install (quail init --system)")
    ap.add_argument("--resident-ab", nargs="?", const="mailauth", choices=("mailauth", "dnsbl"),
                    help="rounds alternate between the helper exec'd per session (the resident one's socket "
                         "moved aside) and the resident one (-d)")
    ap.add_argument("--dnsbl", action="store_true", help="control/dnsbl names a zone (the client not listed)")
    a = ap.parse_args()
    variants = [os.path.abspath(d) for d in a.ab] if a.ab else [None]
    if a.resident_ab:
        variants = ["exec'd " + a.resident_ab, "resident " + a.resident_ab]
    rounds = {v: [] for v in variants}
    dns = None
    q = qt.Instance(prefix="quail-conn-cost-")
    try:
        extra = []
        if a.system:
            os.chmod(q.tmp, 0o755)  # the service users reach ROOT through it
            extra = ["--system"]
        q.quail("init", "--hostname", "mx.example.test", "--domain", "example.test", *extra)  # authcheck stays 1
        q.add_user(RCPT, "alice-secret")
        q.write_control("concurrencyperip", "100\n")
        source = "127.0.0.1"
        if a.dnsbl:
            q.write_control("dnsbl", "bl.test\n")
        if a.client == "mx":
            source = "127.0.9.1"
            dns, dns_port = qt.start_dnsmasq_txt({"sender.test": "v=spf1 ip4:127.0.9.0/24 -all",
                                                  "_dmarc.sender.test": "v=DMARC1; p=none"})
            q.write_control("dnsservers", "127.0.0.1@%d\n" % dns_port)
        else:
            q.write_control("dnsservers", "127.0.0.1\n")  # never asked: relay clients are not checked
        port = qt.free_port()
        q.up(smtp="127.0.0.1:%d" % port)
        def choose(v):
            if a.resident_ab:
                sock = q.path("run", a.resident_ab + ".sock")
                if v.startswith("exec") and os.path.exists(sock):
                    os.rename(sock, sock + ".aside")
                elif not v.startswith("exec") and os.path.exists(sock + ".aside"):
                    os.rename(sock + ".aside", sock)
            elif v:
                point_bin(q, v)
        for v in variants:
            choose(v)
            send(port, 50, a.conc, source)
        for _ in range(a.rounds):
            for v in variants:
                choose(v)
                rounds[v].append(one_round(q, port, a.connections, a.conc, source))
    finally:
        q.cleanup()
        if dns:
            dns.terminate()
            dns.wait(10)
    print("%d connections a round, %d clients, %s client%s%s" % (a.connections, a.conc, a.client,
                                                                ", system install" if a.system else "",
                                                                ", control/dnsbl bl.test" if a.dnsbl else ""))
    for v in variants:
        report(a.connections, rounds[v], v or "this build")

if __name__ == "__main__":
    main()
