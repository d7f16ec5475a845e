"""STARTTLS command injection (CVE-2011-0411 and kin: Postfix, Exim, Dovecot,
Courier ...) on the server side, SMTP STARTTLS and POP3 STLS: plaintext the
client (or a man in the middle) sent with the STARTTLS line must never be taken
for commands inside TLS. A try succeeds when an injected command shows its
effect inside TLS: a reply nobody asked for, a MAIL FROM or a USER remembered,
a login made. The client side (remote-deliver reading injected replies) is in
sets_client.py.
"""
import base64
import os
import socket
import ssl
import subprocess
import tempfile

import attack_lib as al

MAIL = b"MAIL FROM:<injected@evil.test>\r\n"
# (name, injected bytes, what shows its effect: "rcpt" a RCPT inside TLS is taken
# without MAIL, "reply" a reply comes before we ask, "closed" the server hangs up)
SMTP_INJECTIONS = [
    ("MAIL", MAIL, "rcpt"),
    ("RSET+MAIL", b"RSET\r\n" + MAIL, "rcpt"),
    ("EHLO+MAIL", b"EHLO evil.test\r\n" + MAIL, "rcpt"),
    ("HELO+MAIL", b"HELO evil.test\r\n" + MAIL, "rcpt"),
    ("NOOP", b"NOOP\r\n", "reply"),
    ("HELP", b"HELP\r\n", "reply"),
    ("QUIT", b"QUIT\r\n", "closed"),
    ("bare LF MAIL", b"MAIL FROM:<injected@evil.test>\n", "rcpt"),
    ("many", b"NOOP\r\n" * 200 + MAIL, "rcpt"),
]
MODES = ("one write", "two writes")  # with the STARTTLS line / right after it, unread


def _tls(sock):
    return al.client_tls_context().wrap_socket(sock, server_hostname=None, do_handshake_on_connect=False)


def _handshake(tsock, timeout=10):
    tsock.settimeout(timeout)
    try:
        tsock.do_handshake()
        return True
    except (ssl.SSLError, OSError):
        return False


def _smtp_try(root, injected, effect, mode):
    s = al.session(root, remote_ip="127.0.0.1")
    t = None
    try:
        s.reply()
        s.cmd("EHLO client.test")
        if mode == "one write":
            s.send(b"STARTTLS\r\n" + injected)
        else:
            s.send(b"STARTTLS\r\n")
            s.send(injected)
        r = s.reply()
        if not r.startswith("220"):
            return "STARTTLS answered %r" % r
        raw = s.sock
        raw.settimeout(10)
        t = _tls(raw)
        if not _handshake(t):
            return ""  # the injected bytes broke the handshake: nothing was obeyed
        if effect == "closed":
            t.settimeout(0.5)
            try:
                early = t.recv(4096)
            except (socket.timeout, ssl.SSLError, OSError):
                early = None
            if early is not None and early != b"":
                return "unsolicited reply inside TLS: %r" % early[:80]
            if early == b"":
                return "the server hung up inside TLS: the injected QUIT ran"
            return ""
        if effect == "reply" and not al.quiet(t, 0.5):
            return "unsolicited reply inside TLS"
        t.settimeout(10)
        t.sendall(b"EHLO client.test\r\n")
        ehlo = al.recv_until(t, b"\r\n250 ", timeout=10)
        al.recv_until(t, b"\r\n", timeout=1) if not ehlo.endswith(b"\r\n") else b""
        if effect == "rcpt":
            t.sendall(b"RCPT TO:<alice@example.test>\r\n")
            r = al.recv_until(t, b"\r\n", timeout=10)
            if r.startswith(b"250"):
                return "RCPT inside TLS taken without MAIL: the injected MAIL ran (%r)" % r[:60]
        t.sendall(b"QUIT\r\n")
        al.recv_until(t, b"\r\n", timeout=5)
        return ""
    finally:
        if t is not None:
            t.close()  # wrap_socket took the descriptor from s.sock
        s.close()


def smtp(work, tally, full):
    root = work.fresh()
    for mode in MODES if full else MODES[:1]:
        for name, injected, effect in SMTP_INJECTIONS:
            if not full and name not in ("MAIL", "NOOP", "QUIT"):
                continue
            detail = _smtp_try(root, injected, effect, mode)
            tally.record("starttls-smtp", "%s, %s" % (name, mode), bool(detail), detail)


# ---------------------------------------------------------------- POP3

def _pop3d(root):
    a, b = socket.socketpair()
    e = dict(os.environ, QUAIL_ROOT=root, TCPREMOTEIP=al.OUTSIDER, TCPREMOTEPORT="40000",
             TCPLOCALIP="127.0.0.1", PROTO="TCP")
    e.pop("PLAINTEXTLOGIN", None)
    log = tempfile.TemporaryFile()
    p = subprocess.Popen([al.qt.bin_path("pop3d")], stdin=b, stdout=b, stderr=log, env=e)
    b.close()
    a.settimeout(10)
    return p, a, log


PLAIN = base64.b64encode(b"\0" + al.ALICE.encode() + b"\0" + al.PASSWORD.encode())
# effect: "pass" PASS inside TLS succeeds without a USER there; "reply" an answer
# comes unasked; "closed" the server hangs up.
POP3_INJECTIONS = [
    ("USER", b"USER " + al.ALICE.encode() + b"\r\n", "pass"),
    ("CAPA", b"CAPA\r\n", "reply"),
    ("QUIT", b"QUIT\r\n", "closed"),
    ("AUTH PLAIN", b"AUTH PLAIN " + PLAIN + b"\r\n", "reply"),
    ("USER+PASS", b"USER " + al.ALICE.encode() + b"\r\nPASS " + al.PASSWORD.encode() + b"\r\n", "reply"),
    ("NOOP x50", b"NOOP\r\n" * 50, "reply"),
]


def _pop3_try(root, injected, effect, mode):
    p, sock, log = _pop3d(root)
    t = None
    try:
        greeting = al.recv_until(sock, b"\r\n")
        if not greeting.startswith(b"+OK"):
            return "no greeting: %r" % greeting
        if mode == "one write":
            sock.sendall(b"STLS\r\n" + injected)
        else:
            sock.sendall(b"STLS\r\n")
            sock.sendall(injected)
        r = al.recv_until(sock, b"\r\n")
        if not r.startswith(b"+OK"):
            return "STLS answered %r" % r
        t = _tls(sock)
        if not _handshake(t):
            return ""
        if effect != "pass":
            t.settimeout(0.5)
            try:
                early = t.recv(4096)
            except (socket.timeout, ssl.SSLError, OSError):
                early = None
            if early:
                return "unsolicited reply inside TLS: %r" % early[:80]
            if early == b"":
                return "the server hung up inside TLS" if effect == "closed" else ""
        else:
            t.settimeout(20)
            t.sendall(b"PASS " + al.PASSWORD.encode() + b"\r\n")
            r = al.recv_until(t, b"\r\n", timeout=20)
            if r.startswith(b"+OK"):
                return "PASS inside TLS accepted: the injected USER was remembered"
        t.sendall(b"QUIT\r\n")
        al.recv_until(t, b"\r\n", timeout=5)
        return ""
    finally:
        (t or sock).close()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        al.qt.assert_no_sanitizer_report(log, "pop3d's log")


def pop3(work, tally, full):
    root = work.fresh()
    for mode in MODES if full else MODES[:1]:
        for name, injected, effect in POP3_INJECTIONS:
            if not full and name not in ("USER", "CAPA"):
                continue
            detail = _pop3_try(root, injected, effect, mode)
            tally.record("starttls-pop3", "%s, %s" % (name, mode), bool(detail), detail)
