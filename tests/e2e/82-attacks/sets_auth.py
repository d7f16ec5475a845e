"""AUTH brute force against smtpd's AUTH PLAIN (checkpassword and its login
limits: man/checkpassword.8, queue-layout/logins.md).

A try succeeds when the right password is accepted for a login name or from a
client address that is over its failure limit, when a session goes on taking
guesses after smtpd's per-session limit, or (long run) when guesses made in
parallel from many addresses get more passwords of one name checked than its
limit (10). The figures: guesses checked before the lock and the time they took.
"""
import base64
import hashlib
import os
import socket
import struct
import subprocess
import threading
import time

import attack_lib as al

USER_LIMIT, ADDRESS_LIMIT = 10, 30  # lib/login_limits.hpp's LoginPolicy
SLOTS, PROBES = 1024, 8


def seed_failures(root, kind, text, failures):
    """Writes a count into ROOT/run/login-failures as checkpassword would have:
    kind 'u' (login name) or 'a' (client address)."""
    key = hashlib.blake2b(kind.encode() + b"\0" + text.encode(), digest_size=16).digest()
    path = os.path.join(root, "run", "login-failures")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        start = struct.unpack("<I", key[:4])[0]
        for i in range(PROBES):
            at = ((start + i) % SLOTS) * 32
            slot = os.pread(fd, 32, at)
            if len(slot) < 32 or slot[:16] in (b"\0" * 16, key):
                os.pwrite(fd, key + struct.pack("<IIq", failures, 0, int(time.time())), at)
                return
        raise AssertionError("no free slot for the seed")
    finally:
        os.close(fd)


def _plain(user, password):
    return base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()


def _auth(root, user, password, ip="127.0.0.1", guesses=1, results=None):
    """One session, `guesses` AUTH PLAIN tries (the last with `password`, the
    others wrong); the reply to each ("" once the session is gone). results
    (a list) gets checkpassword's verdicts (its log's result=) of the session."""
    s = al.session(root, remote_ip=ip, env={"PLAINTEXTLOGIN": ""})
    s.sock.settimeout(90)  # checkpassword's delays reach 30 s
    out = []
    try:
        s.reply()
        s.cmd("EHLO client.test")
        for i in range(guesses):
            pw = password if i == guesses - 1 else "wrong-%d" % i
            try:
                out.append(s.cmd("AUTH PLAIN " + _plain(user, pw)))
            except (EOFError, OSError):
                out.append("")
    finally:
        if results is not None:
            results += [x.get("result") for x in s.log_lines(prog=None) if x.get("event") == "login"]
        s.close()
    return out


def _pop3_login(root, user, password):
    """pop3d's answer to USER/PASS over a socketpair (plaintext allowed)."""
    a, b = socket.socketpair()
    e = dict(os.environ, QUAIL_ROOT=root, TCPREMOTEIP="127.0.0.1", TCPREMOTEPORT="40000",
             TCPLOCALIP="127.0.0.1", PROTO="TCP", PLAINTEXTLOGIN="")
    p = subprocess.Popen([al.qt.bin_path("pop3d")], stdin=b, stdout=b, stderr=subprocess.DEVNULL, env=e)
    b.close()
    try:
        al.recv_until(a, b"\r\n")
        a.sendall(b"USER %s\r\n" % user.encode())
        al.recv_until(a, b"\r\n")
        a.sendall(b"PASS %s\r\n" % password.encode())
        return al.recv_until(a, b"\r\n", timeout=60)
    finally:
        a.close()
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def locks(work, tally, full):
    root = work.fresh()
    seed_failures(root, "u", al.ALICE, USER_LIMIT)
    r = _auth(root, al.ALICE, al.PASSWORD)[-1]
    tally.record("auth-brute-force", "right password for a locked name", r.startswith("235"), r)
    seed_failures(root, "a", "192.0.2.99", ADDRESS_LIMIT)
    r = _auth(root, al.BOB, al.PASSWORD, ip="192.0.2.99")[-1]
    tally.record("auth-brute-force", "right password from a locked address", r.startswith("235"), r)
    r = _auth(root, al.BOB, al.PASSWORD, ip="192.0.2.100")[-1]
    if not r.startswith("235"):  # the control: the same login from elsewhere works
        tally.record("auth-brute-force", "control: bob from a clean address", True, "refused: %r" % r)
    if full:
        r = _pop3_login(root, al.ALICE, al.PASSWORD)
        tally.record("auth-brute-force", "POP3: right password for a locked name", r.startswith(b"+OK"), r)
        r = _auth(root, al.BOB, al.PASSWORD, ip="192.0.2.101", guesses=4)
        took = r[3].startswith("235") or r[3].startswith("535")
        tally.record("auth-brute-force", "a 4th guess in one session", took, "answered %r" % r[3])


def sequential(work, tally, full):
    """The real thing, one guess per session from one address: counts and delays
    accumulate until the name is locked; then the right password must fail."""
    root = work.fresh()
    start = time.monotonic()
    checked = 0
    for i in range(USER_LIMIT + 2):
        r = _auth(root, al.ALICE, "guess-%d" % i, ip="192.0.2.50")[-1]
        checked += 1
        if r.startswith("235"):
            tally.record("auth-brute-force", "sequential guess %d" % i, True, "a wrong password accepted")
    r = _auth(root, al.ALICE, al.PASSWORD, ip="192.0.2.51")[-1]
    tally.record("auth-brute-force", "sequential: right password after %d failures" % checked, r.startswith("235"), r)
    tally.note("auth-brute-force", "%d sequential guesses took %.0f s" % (checked, time.monotonic() - start))


def parallel(work, tally, full, sessions=40):
    """Guesses in parallel, each from its own address (a botnet): the per-name
    count still locks the name; how many were checked before it did is the figure."""
    root = work.fresh()
    results = []
    lock = threading.Lock()

    def one(i):
        verdicts = []
        _auth(root, al.ALICE, "bot-%d" % i, ip="198.51.100.%d" % (i + 1), results=verdicts)
        with lock:
            results.extend(verdicts)
    threads = [threading.Thread(target=one, args=(i,)) for i in range(sessions)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    r = _auth(root, al.ALICE, al.PASSWORD, ip="198.51.100.200")[-1]
    tally.record("auth-brute-force", "parallel: right password after %d bot guesses" % sessions,
                 r.startswith("235"), r)
    checked = sum(1 for v in results if v != "locked")
    tally.record("auth-brute-force", "parallel: passwords checked for one name", checked > USER_LIMIT,
                 "%d checked, the limit is %d" % (checked, USER_LIMIT) if checked > USER_LIMIT else "")
    tally.note("auth-brute-force", "%d parallel guesses from %d addresses in %.0f s: %d passwords checked, "
               "%d refused unchecked (locked)" % (sessions, sessions, time.monotonic() - start, checked,
                                                  results.count("locked")))
