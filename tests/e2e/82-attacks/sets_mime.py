"""Oversized and deeply nested MIME, against smtpd (which reads the header
section for its loop count and checks sizes) and remote-deliver (which walks the
MIME tree to convert 8-bit parts for a peer without 8BITMIME).

A try succeeds when a program dies of a signal, takes longer than BOUND_S,
grows past 256 MiB, answers something other than a 2xx, 4xx or 5xx, or
acknowledges a message it did not queue (or queues one it refused).
"""
import time

import attack_lib as al
from sets_smuggling import run_remote_deliver

BOUND_S = 60


def nested_multipart(depth, eight_bit=True):
    head = b"From: x@outside.test\r\nSubject: nested\r\nMIME-Version: 1.0\r\n"
    opens, closes = [], []
    for i in range(depth):
        opens.append(b"Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n" % (i, i))
        closes.append(b"\r\n--b%d--\r\n" % i)
    leaf = b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + (b"caf\xc3\xa9\r\n" if eight_bit else b"cafe\r\n")
    return head + b"".join(opens) + leaf + b"".join(reversed(closes))


def nested_rfc822(depth):
    head = b"From: x@outside.test\r\nSubject: nested\r\nMIME-Version: 1.0\r\n"
    return head + b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n" * depth + b"\r\ncaf\xc3\xa9\r\n"


def many_parts(n):
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\n\xc3\xa9 %d\r\n" % i for i in range(n))
    return (b"From: x@outside.test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
            parts + b"--b--\r\n")


def many_fields(n):
    return b"".join(b"X-Field-%d: v\r\n" % i for i in range(n)) + b"\r\nbody\r\n"


def long_folded_field(size):
    return b"Subject: x" + b"\r\n y" * (size // 4) + b"\r\n\r\nbody\r\n"


def long_boundary(n):
    b = b"q" * n
    return (b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"" + b + b"\"\r\n\r\n--" + b +
            b"\r\n\r\n\xc3\xa9\r\n--" + b + b"--\r\n")


def unterminated_multipart(n):
    return (b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
            b"--b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" * n + b"\xc3\xa9\r\n")


# (name, make the message, in the subset)
BOMBS = [
    ("multipart nested 100 deep", lambda: nested_multipart(100), True),
    ("multipart nested 10,000 deep", lambda: nested_multipart(10000), True),
    ("multipart nested 100,000 deep", lambda: nested_multipart(100000), False),
    ("message/rfc822 nested 10,000 deep", lambda: nested_rfc822(10000), False),
    ("message/rfc822 nested 100,000 deep", lambda: nested_rfc822(100000), False),
    ("100,000 parts", lambda: many_parts(100000), False),
    ("10,000 parts", lambda: many_parts(10000), True),
    ("100,000 header fields", lambda: many_fields(100000), False),
    ("one field folded to 5 MB", lambda: long_folded_field(5 << 20), False),
    ("boundary of 100,000 octets", lambda: long_boundary(100000), False),
    ("same boundary nested 10,000 times, never closed", lambda: unterminated_multipart(10000), False),
]


def _smtpd_try(root, message, size_limit):
    s = al.session(root, remote_ip="127.0.0.1", env={"RELAYCLIENT": ""})
    start = time.monotonic()
    try:
        s.reply()
        s.cmd("EHLO client.test")
        s.cmd("MAIL FROM:<x@outside.test>")
        s.cmd("RCPT TO:<alice@example.test>")
        s.cmd("DATA")
        s.sock.settimeout(BOUND_S)
        s.send(message + b"\r\n.\r\n")
        r = s.reply()
        s.send(b"QUIT\r\n")
        al.recv_until(s.sock, b"221 ", timeout=10)
    except (OSError, EOFError) as e:
        r = "no reply: %s" % e
    finally:
        s.close()
    seconds = time.monotonic() - start
    n = len(al.queued(root))
    if s.proc.returncode is not None and s.proc.returncode < 0:
        return "smtpd died of signal %d" % -s.proc.returncode, seconds
    if seconds > BOUND_S:
        return "took %.0f s" % seconds, seconds
    if not r[:1] in "245" or not r[:3].isdigit():
        return "answered %r" % r[:80], seconds
    if r.startswith("2") != (n == 1):
        return "answered %r and queued %d" % (r[:60], n), seconds
    if len(message) > size_limit and r.startswith("2"):
        return "took %d octets over databytes %d" % (len(message), size_limit), seconds
    return "", seconds


def inbound(work, tally, full):
    worst = 0.0
    for name, make, in_subset in BOMBS:
        if not full and not in_subset:
            continue
        root = work.fresh()
        detail, seconds = _smtpd_try(root, make(), 1 << 60)
        worst = max(worst, seconds)
        tally.record("mime-bomb", "smtpd: " + name, bool(detail), detail)
    # Oversized: databytes of 1 MB against 3 MB, in DATA.
    root = work.fresh()
    al.sh.write_control(root, "databytes", str(1 << 20))
    detail, seconds = _smtpd_try(root, b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 3000, 1 << 20)
    tally.record("mime-bomb", "smtpd: 3 MB over databytes 1 MB", bool(detail), detail)
    tally.note("mime-bomb", "slowest smtpd answer %.1f s" % max(worst, seconds))


def outbound(work, tally, full):
    """The same bombs queued (LF line ends) and sent to a peer without 8BITMIME,
    so remote-deliver walks their MIME trees to convert them."""
    from sets_smuggling import capture_peer
    root = work.fresh()
    worst_s, worst_rss, worst_cpu = 0.0, 0, 0.0

    def seven_bit_peer(conn, rec):
        return capture_peer()(_SevenBit(conn), rec)
    peer = al.HostilePeer(seven_bit_peer)
    try:
        al.sh.write_control(root, "smtproutes", "remote.test:[127.0.0.1]:%d" % peer.port)
        for name, make, in_subset in BOMBS:
            if not full and not in_subset:
                continue
            message = make().replace(b"\r\n", b"\n")
            code, report, err, seconds, rss, cpu = run_remote_deliver(root, message, ["carol@remote.test"],
                                                                      timeout=BOUND_S)
            worst_s, worst_rss, worst_cpu = max(worst_s, seconds), max(worst_rss, rss), max(worst_cpu, cpu)
            detail = ""
            if code is None:
                detail = "hung: killed after %.0f s" % seconds
            elif code != 0:
                detail = "exit %d: %s" % (code, err.strip()[-200:])
            elif rss > 256 * 1024:
                detail = "max RSS %d KiB" % rss
            elif len(report) < 2 or report[-2][:1] not in (b"K", b"Z", b"D"):
                detail = "no report: %r" % report[:3]
            tally.record("mime-bomb", "remote-deliver: " + name, bool(detail), detail)
    finally:
        peer.stop()
    tally.note("mime-bomb", "remote-deliver at most %.1f s CPU, %.1f s wall, RSS under %d MiB" %
               (worst_cpu, worst_s, worst_rss // 1024))


class _SevenBit:
    """A socket whose EHLO answer lacks 8BITMIME: capture_peer's, with the keyword cut."""

    def __init__(self, conn):
        self.conn = conn

    def sendall(self, data):
        return self.conn.sendall(data.replace(b"250-peer.test\r\n250 8BITMIME\r\n", b"250 peer.test\r\n"))

    def __getattr__(self, name):
        return getattr(self.conn, name)
