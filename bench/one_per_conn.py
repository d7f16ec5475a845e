"""bench/one_per_conn.py: the one-message-per-connection row of `make bench`
(bench/README.md): an MX peer's or a submission client's traffic, where every
message pays for a connection (tcpserver's accept and spawn, smtpd's start, its
control reads, a queue-inject, the close).

CONC python smtplib clients on 127.0.0.1 send N messages of ~4 KiB in total, each
over its own connection (connect, EHLO, MAIL, RCPT, DATA, QUIT). The accept clock
stops at the last 250 after DATA, the end-to-end clock when the N-th file is in
Maildir/new. CPU per message: every process of the instance (tcpserver, queue-send,
local-spawn with their reaped children: smtpd, queue-inject, deliveries) from
/proc/<pid>/stat, utime+stime+cutime+cstime, over the run, divided by N; the
python clients are not counted.

The MX-peer rows: the same load from 127.0.9.1, a client without relay rights
sending as bob@sender.test, whose SPF and DMARC records a dnsmasq on loopback
publishes; quail's defaults (control/authcheck 1), so each session also runs
mailauth (SPF at MAIL FROM, DMARC and DKIM after DATA), as an MX's sessions do.
"""
import os
import shutil
import smtplib
import threading
import time

import quailtest as qt

TICK = os.sysconf("SC_CLK_TCK")
ROW = "SMTP, one message per connection"


def instance_cpu_s(q):
    """CPU seconds of the instance's processes with their reaped children."""
    total = 0
    for pid in qt.processes_under(q.root):
        try:
            fields = qt._proc_read(pid, "stat").split(b")")[-1].split()
        except OSError:
            continue
        total += sum(int(fields[i]) for i in (11, 12, 13, 14))
    return total / TICK


def run(q, port, n, conc, deadline, rcpt, sender, source="127.0.0.1"):
    """(accept s, end-to-end s, CPU s of the instance) for n messages."""
    body = qt.make_message(0, to=rcpt, sender=sender, size=4096).replace(b"\n", b"\r\n")
    per = [n // conc + (1 if i < n % conc else 0) for i in range(conc)]
    errors = []
    new = os.path.join(q.maildir(rcpt), "new")
    before = len(os.listdir(new)) if os.path.isdir(new) else 0

    def client(count):
        try:
            for _ in range(count):
                with smtplib.SMTP(timeout=60, source_address=(source, 0)) as s:
                    s.connect("127.0.0.1", port)
                    s.sendmail(sender, [rcpt], body)
        except Exception as e:  # noqa: BLE001 - reported by the caller
            errors.append(repr(e))
    cpu0 = instance_cpu_s(q)
    start = time.monotonic()
    threads = [threading.Thread(target=client, args=(c,)) for c in per]
    for t in threads:
        t.start()
    for t in threads:
        t.join(deadline)
    accepted = time.monotonic() - start
    if errors:
        raise RuntimeError(errors[0][:120])
    qt.wait_for(lambda: len(os.listdir(new)) - before >= n, deadline, "%d messages in Maildir/new" % n,
                interval=0.005)
    delivered = time.monotonic() - start
    qt.wait_for(q.queue_empty, 30, "an empty queue")
    time.sleep(0.2)  # the last delivery worker's and smtpd's CPU reaped
    return accepted, delivered, instance_cpu_s(q) - cpu0


def one_shape(rows, say, n, conc, deadline, label, mx):
    say("bench: %s, %d messages..." % (label, n))
    port = qt.free_port("127.0.0.1")
    q = qt.Instance(prefix="quail-bench-one-")
    dns = None
    sender, source = "bob@example.test", "127.0.0.1"
    try:
        q.init("mx.example.test", ["example.test"])
        q.add_user("alice@example.test", "alice-secret")
        q.write_control("concurrencyperip", "100\n")  # every client is one address
        if mx:
            q.write_control("authcheck", "1\n")  # quail's default (quailtest's init turns it off)
            sender, source = "bob@sender.test", "127.0.9.1"
            dns, dns_port = qt.start_dnsmasq_txt({"sender.test": "v=spf1 ip4:127.0.9.0/24 -all",
                                                  "_dmarc.sender.test": "v=DMARC1; p=none"})
            q.write_control("dnsservers", "127.0.0.1@%d\n" % dns_port)
        q.up(smtp="127.0.0.1:%d" % port)
        run(q, port, min(n, 50), conc, deadline, "alice@example.test", sender, source)  # warm-up
        accepted, delivered, cpu = run(q, port, n, conc, deadline, "alice@example.test", sender, source)
        if mx:
            with open(q.path("log", "smtp.log"), errors="replace") as f:
                text = f.read()
            # A mailauth that failed lets mail through unchecked and costs less: not a figure.
            if "event=mailauth " in text or text.count("event=dmarc ") < n:
                raise RuntimeError("mailauth did not check every message (smtp.log)")
    except RuntimeError as e:
        rows.append((label, "failed", str(e)))
        return
    finally:
        q.cleanup()
        if dns:
            dns.terminate()
            dns.wait(10)
    rows.append(("%s: accept, %d clients, %d msgs of 4 KiB" % (label, conc, n), "%.0f msg/s" % (n / accepted),
                 "%.1f s" % accepted))
    rows.append(("%s: -> Maildir/new, same run" % label, "%.0f msg/s" % (n / delivered),
                 "%.1f s; the instance's CPU %.2f ms per message (connection included)" % (delivered, cpu * 1000 / n)))


def bench_one_per_connection(rows, say, n, conc, deadline):
    if qt.missing("smtpd", "tcpserver"):
        rows.append((ROW, "not measured", "smtpd or tcpserver not built"))
        return
    one_shape(rows, say, n, conc, deadline, ROW, False)
    if qt.missing("mailauth") or not shutil.which("dnsmasq"):
        rows.append((ROW + ", MX peer", "not measured", "mailauth or dnsmasq missing"))
        return
    one_shape(rows, say, n, conc, deadline, ROW + ", MX peer (SPF, DMARC)", True)
