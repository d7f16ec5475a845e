"""remote-deliver as the client of a hostile SMTP server.

- STARTTLS response injection (the client-side CVE-2011-0411 class, 2021's
  "STARTTLS considered harmful" findings): the peer sends replies after its 220
  to STARTTLS, in the same segment. A try succeeds when the client goes on into
  TLS and then takes an injected reply for the answer to a command it sends
  inside TLS (it sends its next command before the peer answered EHLO).
- Replies that never end, lines that never end, replies dripped slowly, huge
  replies, NUL and junk: a try succeeds when remote-deliver hangs past its
  timeouts, dies of a signal, grows past 256 MiB, writes no report, or claims
  the message accepted when the peer never said so.
"""
import ssl
import time

import attack_lib as al
from sets_smuggling import run_remote_deliver

RCPT = "carol@remote.test"
TIMEOUT_S = 3  # timeoutgreeting/timeoutremote/timeoutdata for these tries
MESSAGE = b"From: alice@example.test\nSubject: to a hostile peer\n\nbody\n"


def _lines(conn, n=1, timeout=10):
    data = b""
    while data.count(b"\n") < n:
        chunk = al.recv_until(conn, b"\n", timeout=timeout, limit=1 << 16)
        if not chunk:
            break
        data += chunk
    return data


# ---------------------------------------------------------------- STARTTLS injection

INJECTED = [
    ("250", b"250 injected\r\n"),
    ("EHLO reply", b"250-peer.test\r\n250-AUTH PLAIN LOGIN\r\n250 PIPELINING\r\n"),
    ("EHLO+MAIL+RCPT+DATA", b"250 peer.test\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
    ("554", b"554 5.7.1 go away\r\n"),
    ("221", b"221 bye\r\n"),
    ("TLS alert bytes", b"\x15\x03\x03\x00\x02\x02\x28"),
]


def _starttls_peer(ctx, injected):
    def script(conn, rec):
        conn.sendall(b"220 peer.test ESMTP\r\n")
        rec["ehlo"] = _lines(conn)
        conn.sendall(b"250-peer.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
        cmd = _lines(conn)
        if not cmd.upper().startswith(b"STARTTLS"):
            rec["plain"] = True  # the retry without TLS: take the message and say so
            return _plain_rest(conn, rec, first=cmd)
        conn.sendall(b"220 2.0.0 go ahead\r\n" + injected)
        t = ctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        t.settimeout(10)
        try:
            t.do_handshake()
        except (ssl.SSLError, OSError) as e:
            rec["handshake"] = "failed: %s" % e
            return
        rec["handshake"] = "ok"
        rec["tls_ehlo"] = _lines(t)
        # Before answering EHLO: a client that took an injected reply for it goes on.
        rec["early"] = b"" if al.quiet(t, 1.0) else b"more"
        t.sendall(b"250 peer.test\r\n")
        _plain_rest(t, rec)
    return script


def _plain_rest(conn, rec, first=b""):
    pending = first
    while True:
        line = pending or _lines(conn)
        pending = b""
        if not line:
            return
        verb = line.strip().upper()[:4]
        if verb in (b"EHLO", b"HELO"):
            conn.sendall(b"250 peer.test\r\n")
        elif verb == b"DATA":
            conn.sendall(b"354 go\r\n")
            al.recv_until(conn, b"\r\n.\r\n", timeout=10)
            rec["accepted"] = True
            conn.sendall(b"250 ok\r\n")
        elif verb == b"QUIT":
            conn.sendall(b"221 bye\r\n")
            return
        else:
            conn.sendall(b"250 ok\r\n")


def starttls_injection(work, tally, full):
    ctx, _ = al.make_cert(work.dir)
    root = work.fresh()
    _short_timeouts(root)
    # Under control/tlspolicy "encrypt" the injection must not buy a plaintext retry.
    tries = [(n, i, p) for p in ("", "encrypt") for n, i in INJECTED]
    for name, injected, policy in tries if full else [tries[0], tries[1], tries[len(INJECTED)]]:
        peer = al.HostilePeer(_starttls_peer(ctx, injected))
        try:
            al.sh.write_control(root, "smtproutes", "remote.test:[127.0.0.1]:%d" % peer.port)
            al.sh.write_control(root, "tlspolicy", "remote.test:%s" % policy if policy else "")
            code, report, err, seconds, _, _ = run_remote_deliver(root, MESSAGE, [RCPT], timeout=60)
        finally:
            peer.stop()
        first = peer.records[0] if peer.records else {}
        detail = ""
        if first.get("handshake") == "ok" and first.get("early"):
            detail = "went on inside TLS as if an injected reply answered its EHLO"
        elif policy and any(r.get("accepted") for r in peer.records):
            detail = "sent the message without TLS although tlspolicy says encrypt"
        elif code is None:
            detail = "remote-deliver hung (%.0f s)" % seconds
        tally.record("starttls-client", name + (" (tlspolicy %s)" % policy if policy else ""), bool(detail), detail)


# ---------------------------------------------------------------- hostile replies

def _drip(conn, unit, count, pause):
    for _ in range(count):
        conn.sendall(unit)
        if pause:
            time.sleep(pause)


def _endless(stage, unit, pause=0.0, count=10 ** 7):
    """A peer that behaves until `stage` (greeting, ehlo, mail, data) and then
    sends `unit` again and again (until the client goes)."""
    def script(conn, rec):
        try:
            if stage == "greeting":
                return _drip(conn, unit, count, pause)
            conn.sendall(b"220 peer.test ESMTP\r\n")
            _lines(conn)
            if stage == "ehlo":
                return _drip(conn, unit, count, pause)
            conn.sendall(b"250 peer.test\r\n")
            _lines(conn)
            if stage == "mail":
                return _drip(conn, unit, count, pause)
            conn.sendall(b"250 ok\r\n")
            _lines(conn)
            conn.sendall(b"250 ok\r\n")
            _lines(conn)
            conn.sendall(b"354 go\r\n")
            al.recv_until(conn, b"\r\n.\r\n", timeout=10)
            _drip(conn, unit, count, pause)
        except OSError:
            rec["client_left"] = True
    return script


HOSTILE = [
    # (name, script, full only)
    ("endless multi-line greeting", _endless("greeting", b"220-x\r\n" * 64), False),
    ("endless multi-line EHLO reply", _endless("ehlo", b"250-PIPELINING\r\n" * 64), False),
    ("endless multi-line reply after DATA", _endless("data", b"250-queued\r\n" * 64), False),
    ("greeting line without end", _endless("greeting", b"220 " + b"x" * 65536), False),
    ("reply line without end after DATA", _endless("data", b"2" * 65536), True),
    ("dripped greeting, a line each 0.5 s", _endless("greeting", b"220-slow\r\n", pause=0.5), False),
    ("dripped EHLO reply, a byte each 0.2 s", _endless("ehlo", b"2", pause=0.2), True),
    ("200 lines of 4096 octets", _endless("ehlo", b"250-" + b"y" * 4090 + b"\r\n", count=200), True),
    ("NUL bytes", _endless("greeting", b"\0" * 65536), True),
    ("continuation then garbage", _endless("mail", b"250-ok\r\n25x garbage\r\n"), True),
    ("junk after DATA", _endless("data", b"25\r\n\xff\xfe\r\n"), True),
    ("bare LF replies", _endless("ehlo", b"250-a\n" * 64), True),
]


def hostile_replies(work, tally, full):
    root = work.fresh()
    _short_timeouts(root)
    worst_rss, worst_s = 0, 0.0
    for name, script, full_only in HOSTILE:
        if full_only and not full:
            continue
        peer = al.HostilePeer(script)
        try:
            al.sh.write_control(root, "smtproutes", "remote.test:[127.0.0.1]:%d" % peer.port)
            code, report, err, seconds, rss, _ = run_remote_deliver(root, MESSAGE, [RCPT], timeout=60)
        finally:
            peer.stop()
        worst_rss, worst_s = max(worst_rss, rss), max(worst_s, seconds)
        detail = ""
        if code is None:
            detail = "hung: killed after %.0f s" % seconds
        elif code != 0:
            detail = "exit %d: %s" % (code, err.strip()[-200:])
        elif rss > 256 * 1024:
            detail = "max RSS %d KiB" % rss
        elif not report or not report[-2:-1] or report[-2][:1] not in (b"K", b"Z", b"D"):
            detail = "no report: %r" % report[:3]
        elif report[-2][:1] == b"K":
            detail = "claims the message was accepted: %r" % report[-2][:100]
        tally.record("hostile-peer", name, bool(detail), detail)
    tally.note("hostile-peer", "slowest give-up %.1f s with %d s timeouts, max RSS %d MiB" %
               (worst_s, TIMEOUT_S, worst_rss // 1024))


def _short_timeouts(root):
    for name in ("timeoutconnect", "timeoutgreeting", "timeoutremote", "timeoutdata"):
        al.sh.write_control(root, name, str(TIMEOUT_S))
