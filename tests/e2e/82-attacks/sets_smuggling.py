"""SMTP smuggling (SEC Consult, December 2023, and the variants published since).

Inbound: smtpd must take only <CRLF>.<CRLF> as the end of DATA, whatever the
spelling of a would-be end (bare LF, bare CR, NUL, white space around the dot),
however the bytes are split into reads, in DATA, pipelined or inside a BDAT
chunk. A try succeeds when a second message (to bob, whom only the smuggled
transaction names) reaches the queue.
Outbound: remote-deliver must never put on the wire a sequence a lenient
receiver (or one that drops NULs) would take as the end of data: a message queued by a local user
(sendmail and queue-inject carry bytes as they are) holds each variant, and a try
succeeds when the DATA bytes a peer receives hold one before the real end.
"""
import os
import subprocess
import tempfile
import threading
import time

import attack_lib as al

# (name, bytes): every would-be end of data that is not <CRLF>.<CRLF>.
ENDS = [
    ("<LF>.<LF>", b"\n.\n"),
    ("<LF>.<CR><LF>", b"\n.\r\n"),
    ("<CR><LF>.<LF>", b"\r\n.\n"),
    ("<CR>.<CR>", b"\r.\r"),
    ("<CR>.<CR><LF>", b"\r.\r\n"),
    ("<CR><LF>.<CR>", b"\r\n.\r"),
    ("<LF>.<CR>", b"\n.\r"),
    ("<CR>.<LF>", b"\r.\n"),
    ("<CR><LF>.<NUL><CR><LF>", b"\r\n.\x00\r\n"),
    ("<CR><LF><NUL>.<CR><LF>", b"\r\n\x00.\r\n"),
    ("<CR><LF>.<CR><NUL><LF>", b"\r\n.\r\x00\n"),
    ("<CR><LF>.<CR><CR><LF>", b"\r\n.\r\r\n"),
    ("<CR><LF><SP>.<CR><LF>", b"\r\n .\r\n"),
    ("<CR><LF>.<SP><CR><LF>", b"\r\n. \r\n"),
    ("<CR><LF><HT>.<CR><LF>", b"\r\n\t.\r\n"),
    ("<CR><LF>.<HT><CR><LF>", b"\r\n.\t\r\n"),
    ("<CR><CR><LF>.<CR><CR><LF>", b"\r\r\n.\r\r\n"),
    ("<LF><LF>.<LF><LF>", b"\n\n.\n\n"),
    ("<CR><LF>.<LF><CR><LF>", b"\r\n.\n\r\n"),
    ("<LF><CR>.<LF><CR>", b"\n\r.\n\r"),
    ("<CR><LF>..<CR><LF> (stuffed)", b"\r\n..\r\n"),
    ("<CR><LF>.<0x85>", b"\r\n.\xc2\x85"),
    ("<CR><LF><NUL>.<CR>", b"\r\n\x00.\r"),
    ("<CR><LF><NUL>.<LF>", b"\r\n\x00.\n"),
    ("<LF><LF>.<CR><LF>", b"\n\n.\r\n"),
    ("<CR><LF>. (no line end)", b"\r\n."),
]
SUBSET = {"<LF>.<LF>", "<CR>.<CR>", "<LF>.<CR><LF>", "<CR><LF>.<LF>", "<CR><LF>.<CR>", "<CR><LF>.<NUL><CR><LF>",
          "<CR><LF><NUL>.<CR><LF>", "<CR><LF><SP>.<CR><LF>"}

SMUGGLED = (b"MAIL FROM:<ceo@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
            b"From: ceo@example.test\r\nSubject: smuggled\r\n\r\npay the invoice\r\n")
FIRST = b"From: <x@outside.test>\r\nSubject: first\r\n\r\nbody"
TRANSACTION = b"MAIL FROM:<x@outside.test>\r\nRCPT TO:<alice@example.test>\r\n"


def _smuggled_in_queue(root):
    """What of the smuggled transaction reached the queue ("" when nothing)."""
    for msg, env in al.queued(root):
        rcpts = [r["address"] for r in env["recipients"]]
        if al.BOB in rcpts or env["sender"] == "ceo@example.test":
            return "queued a second message from %s to %s" % (env["sender"], rcpts)
    return ""


def _play(root, framing, end):
    """One inbound try; returns a success detail or ""."""
    s = al.session(root)
    try:
        s.reply()
        s.cmd("EHLO outside.test")
        payload = FIRST + end + SMUGGLED + b"\r\n.\r\n"
        if framing == "data":
            s.send(TRANSACTION)
            s.replies(2)
            s.cmd("DATA")
            s.send(payload)
        elif framing == "data-split":
            # The end variant in pieces, one read each: the decoder must not depend on reads.
            s.send(TRANSACTION)
            s.replies(2)
            s.cmd("DATA")
            s.send(FIRST)
            for b in end:
                time.sleep(0.005)
                s.send(bytes([b]))
            time.sleep(0.005)
            s.send(SMUGGLED + b"\r\n.\r\n")
        elif framing == "pipelined":
            s.send(TRANSACTION + b"DATA\r\n" + payload)
        elif framing == "bdat":
            s.send(TRANSACTION + b"BDAT %d LAST\r\n" % len(payload) + payload)
        elif framing == "bdat-chunks":
            a, b = FIRST + end, SMUGGLED + b"\r\n.\r\n"
            s.send(TRANSACTION + b"BDAT %d\r\n" % len(a) + a + b"BDAT %d LAST\r\n" % len(b) + b)
        s.send(b"QUIT\r\n")
        al.recv_until(s.sock, b"221 ", timeout=10)
    finally:
        s.close()
    return _smuggled_in_queue(root)


INBOUND_FRAMINGS = ("data", "pipelined", "bdat", "bdat-chunks", "data-split")


def inbound(work, tally, full):
    for framing in INBOUND_FRAMINGS if full else ("data", "pipelined", "bdat"):
        for name, end in ENDS:
            if not full and (name not in SUBSET or (framing != "data" and name != "<LF>.<LF>")):
                continue
            detail = _play(work.fresh(), framing, end)
            tally.record("smuggling-in", "%s %s" % (framing, name), bool(detail), detail)


# ---------------------------------------------------------------- outbound

LENIENT_ENDS = [e for _, e in ENDS[:8]] + [b"\r\n.\r\n"]


def capture_peer(rec_key="data"):
    """A plain SMTP peer that keeps the raw DATA bytes of each transaction."""
    def script(conn, rec):
        conn.sendall(b"220 peer.test ESMTP\r\n")
        buf = b""
        while True:
            line = al.recv_until(conn, b"\n", timeout=15, limit=1 << 16)
            if not line:
                return
            buf += line
            while b"\n" in buf:
                cmd, _, buf = buf.partition(b"\n")
                verb = cmd.strip().upper()[:4]
                if verb in (b"EHLO", b"HELO"):
                    conn.sendall(b"250-peer.test\r\n250 8BITMIME\r\n")
                elif verb == b"DATA":
                    conn.sendall(b"354 go\r\n")
                    data = buf + al.recv_until(conn, b"\r\n.\r\n", timeout=120, limit=1 << 27)
                    # The real end is the first <CRLF>.<CRLF> a strict receiver sees.
                    i = data.find(b"\r\n.\r\n")
                    rec[rec_key] = data[:i + 2] if i >= 0 else data
                    buf = data[i + 5:] if i >= 0 else b""
                    conn.sendall(b"250 ok\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 ok\r\n")
    return script


def run_remote_deliver(root, message, rcpts, sender="alice@example.test", timeout=120, env=None):
    """remote-deliver as queue-send runs it for one message (queue file on fd 0):
    (exit code or None when killed at timeout, report records, stderr, seconds,
    max RSS in KiB, CPU seconds). The RSS counts from the fork, so a large message
    held by this process shows in it: an upper bound."""
    envelope = b"F" + sender.encode() + b"\0" + b"".join(b"T" + r.encode() + b"\0" for r in rcpts) + b"\0"
    e = dict(os.environ, QUAIL_ROOT=root, QUAIL_MESSAGE_LENGTH=str(len(message)))
    e.update(env or {})
    domain = rcpts[0].rsplit("@", 1)[1]
    with tempfile.TemporaryFile() as qf, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        qf.write(message + envelope)
        qf.seek(0)
        start = time.monotonic()
        p = subprocess.Popen([al.qt.bin_path("remote-deliver"), domain, sender] + list(rcpts), stdin=qf,
                             stdout=out, stderr=err, env=e)
        killer = threading.Timer(timeout, p.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(p.pid, 0)
        finally:
            killer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        code = None if seconds >= timeout else p.returncode
        return (code, out.read().split(b"\0"), err.read().decode(errors="replace"), seconds, usage.ru_maxrss,
                usage.ru_utime + usage.ru_stime)


def outbound(work, tally, full):
    peer = al.HostilePeer(capture_peer())
    try:
        root = work.fresh()
        al.sh.write_control(root, "smtproutes", "remote.test:[127.0.0.1]:%d" % peer.port)
        for name, end in ENDS:
            if not full and name not in SUBSET:
                continue
            # The queue holds LF line ends; the variant goes in as the bytes it is.
            message = (b"From: alice@example.test\nSubject: outbound\n\nbody" + end +
                       SMUGGLED.replace(b"\r\n", b"\n") + b"\n")
            before = len(peer.records)
            code, report, err, _, _, _ = run_remote_deliver(root, message, ["carol@remote.test"])
            recs = peer.records[before:]
            wire = next((r["data"] for r in recs if "data" in r), None)
            if wire is None:
                tally.record("smuggling-out", name, False, "not sent: %r" % report[:2])
                continue
            # A receiver may also drop NULs before it looks for the end (the
            # <CR><LF><NUL>.<CR><LF> variants): judge both readings.
            hits = [e for e in LENIENT_ENDS if e in wire[:-2] or e in wire[:-2].replace(b"\0", b"")]
            bare = any(wire[i] == 13 and wire[i + 1:i + 2] != b"\n" for i in range(len(wire))) or \
                any(wire[i] == 10 and (i == 0 or wire[i - 1] != 13) for i in range(len(wire)))
            detail = "wire holds %r%s" % (hits, " and bare CR/LF" if bare else "") if hits else ""
            tally.record("smuggling-out", name, bool(hits), detail)
    finally:
        peer.stop()
