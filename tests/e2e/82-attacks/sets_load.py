"""Slow-loris and connection floods against tcpserver's limits (-c
concurrencyincoming, -C concurrencyperip) in front of smtpd: measured, not
changed here (issue 18's connection-exhaustion part changes them).

A try succeeds when a legitimate client, from an address of its own, is not
greeted within LEGIT_S while the attack runs, or when tcpserver dies.
The figures: connections held, how long smtpd keeps a session that drips one
byte at a time, how many of a flood were refused.
"""
import socket
import threading
import time

import attack_lib as al

LEGIT_S = 10


def _connect(port, src, timeout=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def legit_greeted(port, src="127.0.9.9"):
    """True when a client from src gets a 220 greeting within LEGIT_S."""
    try:
        s = _connect(port, src, LEGIT_S)
    except OSError:
        return False
    try:
        return al.recv_until(s, b"\r\n", timeout=LEGIT_S).startswith(b"220")
    finally:
        s.close()


def _instance(work, control):
    q = al.qt.Instance(prefix="quail-attacks-load-")
    work_cleanup = q.cleanup
    q.init("mx.example.test", ["example.test"])
    for k, v in control.items():
        q.write_control(k, "%s\n" % v)
    port = al.qt.free_port()
    q.up(smtp="127.0.0.1:%d" % port)
    al.qt.wait_for(lambda: legit_greeted(port), 30, "smtpd listening")
    return q, port, work_cleanup


class Loris:
    """n connections from the given source addresses, each sending one byte of a
    line that never ends every `every` seconds, until stop()."""

    def __init__(self, port, sources, n, every):
        self.socks, self.stopped = [], False
        self.lock = threading.Lock()
        for i in range(n):
            try:
                s = _connect(port, sources[i % len(sources)])
                s.setblocking(False)
                self.socks.append(s)
            except OSError:
                pass
        self.every = every
        self.thread = threading.Thread(target=self._drip, daemon=True)
        self.thread.start()

    def _drip(self):
        while not self.stopped:
            for s in list(self.socks):
                try:
                    s.send(b"N")
                except OSError:
                    pass
            time.sleep(self.every)

    def alive(self):
        """How many connections the server has not closed."""
        n = 0
        for s in self.socks:
            try:
                data = s.recv(65536)
                if data == b"" or b"\r\n421 " in b"\r\n" + data:
                    continue  # closed, or told so (a 421 ends the session)
                n += 1  # the greeting or another reply: still open
            except BlockingIOError:
                n += 1
            except OSError:
                continue
        return n

    def stop(self):
        self.stopped = True
        self.thread.join(5)
        for s in self.socks:
            s.close()


def slow_loris(work, tally, full):
    # Defaults but a short timeoutsmtpd, so what the timeout does shows quickly.
    q, port, cleanup = _instance(work, {"timeoutsmtpd": 5})
    try:
        n = 110 if full else 60
        sources = ["127.0.1.%d" % (i + 1) for i in range(n // 50 + 1)] if full else ["127.0.1.1", "127.0.1.2"]
        loris = Loris(port, sources, n, every=2.0)
        try:
            ok = legit_greeted(port)
            tally.record("slow-loris", "%d dripping connections from %d addresses" % (n, len(sources)),
                         not ok, "" if ok else "a client from another address was not greeted")
            held = loris.alive()
            time.sleep(20 if full else 8)
            still = loris.alive()
            tally.note("slow-loris", "%d of %d connections held; %d still open after %d s of one byte per 2 s "
                       "with timeoutsmtpd 5" % (held, n, still, 20 if full else 8))
            if full:
                ok = legit_greeted(port)
                tally.record("slow-loris", "the same, %d s later" % 20, not ok,
                             "" if ok else "a client from another address was not greeted")
        finally:
            loris.stop()
        if full:
            # Over concurrencyincoming from many addresses: the known lock-out.
            many = ["127.0.2.%d" % (i + 1) for i in range(120)]
            loris = Loris(port, many, 120, every=2.0)
            try:
                ok = legit_greeted(port)
                tally.record("slow-loris", "120 dripping connections from 120 addresses", not ok,
                             "" if ok else "a legitimate client was locked out (concurrencyincoming 100)")
            finally:
                loris.stop()
        alive = q.pids("tcpserver")
        tally.record("slow-loris", "tcpserver alive after", not alive, "" if alive else "tcpserver gone")
    finally:
        cleanup()


def flood(work, tally, full):
    q, port, cleanup = _instance(work, {"timeoutsmtpd": 5})
    try:
        n = 1000 if full else 200
        refused = opened = 0
        start = time.monotonic()
        socks = []
        for i in range(n):
            try:
                s = _connect(port, "127.0.3.%d" % (i % 250 + 1), timeout=5)
                socks.append(s)
                opened += 1
            except OSError:
                refused += 1
        ok = legit_greeted(port)
        tally.record("connection-flood", "%d connections held open" % n, not ok,
                     "" if ok else "a client from another address was not greeted")
        answers = {"220": 0, "other": 0, "closed": 0, "silent": 0}
        for s in socks:
            s.settimeout(0.2)
            try:
                first = s.recv(64)
                answers["220" if first.startswith(b"220") else "other" if first else "closed"] += 1
            except OSError:
                answers["silent"] += 1
            s.close()
        tally.note("connection-flood", "%d connects in %.1f s: %d greeted, %d turned away with a reply, %d closed "
                   "unanswered, %d silent, %d refused at connect" %
                   (n, time.monotonic() - start, answers["220"], answers["other"], answers["closed"],
                    answers["silent"], refused))
        al.qt.wait_for(lambda: legit_greeted(port), 30, "service after the flood")
        alive = q.pids("tcpserver")
        tally.record("connection-flood", "tcpserver alive and serving after", not alive,
                     "" if alive else "tcpserver gone")
    finally:
        cleanup()
