#!/usr/bin/python3
"""bench/exhaustion.py: a legitimate client against 1,000 idle attackers (issue 18,
connection exhaustion). Outside `make check`: it holds about 1,000 connections.

A fresh instance with the shipped limits (concurrencyincoming 1000, concurrencyperip
50, concurrencypernet 100; tcpserver -i 2 from quail up). The attackers connect
from 1,000 addresses of 127.0.0.0/8 (ATTACK_NETS /24s, 50 addresses each), in
batches under the listen backlog, read the greeting and say nothing more. A
legitimate client from 127.1.0.0/24 then opens TRIALS sessions one after
another: it connects (again after a 421, as a real client retries; each connect
is a try) until greeted, then sends one message. Two phases: the attackers only
wait; then they persist: one whose connection is closed (evicted, or timed out)
connects again from the same address half a second later (at once, each
reconnection would evict another attacker in an endless chain that measures
only process spawning), and the client pauses 1 s between sessions so they take
its place back. Reported per phase: tries, sessions greeted, messages accepted
(250), the latency from its first try to 220 and to 250 (median, max),
evictions logged, the attackers' open connections and reconnections.

    bench/exhaustion.py [ATTACKERS [TRIALS]]     # 1000 and 30 by default

The client needs ~ATTACKERS+100 descriptors: the soft RLIMIT_NOFILE is raised
(to the hard limit at most); tcpserver raises its own (man/tcpserver.8).
"""
import sys
sys.dont_write_bytecode = True
import os
import resource
import selectors
import socket
import statistics
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
import quailtest as qt  # noqa: E402

ALICE = "alice@example.test"
ATTACK_NETS = 20  # /24s: 50 addresses each for 1,000 attackers, under the per-/24 limit of 100


def attacker_source(i):
    per_net = -(-ATTACKERS // ATTACK_NETS)
    return "127.2.%d.%d" % (i // per_net, 1 + i % per_net)


def open_attacker(port, source):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.bind((source, 0))
    s.connect_ex(("127.0.0.1", port))
    return s


class Attackers:
    """ATTACKERS connections, each reading what it is told and otherwise idle."""

    def __init__(self, port):
        self.port = port
        self.sel = selectors.DefaultSelector()
        self.greeted = 0
        self.reconnects = 0
        self.open = 0
        self.persistent = False
        self.stop = False
        self.due = []  # (time, attacker) reconnections waiting
        self.closed = set()  # attackers whose connection was closed
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        # In batches well under the listen backlog (256): a handshake completed while
        # the accept queue is full is dropped by the server after its SYN-ACK retries,
        # and a client that never sends would hold a connection only it believes in.
        for start in range(0, ATTACKERS, 100):
            for i in range(start, min(start + 100, ATTACKERS)):
                self._open(i)
            deadline = time.monotonic() + 30
            while self.greeted < min(start + 100, ATTACKERS) * 0.99 and time.monotonic() < deadline:
                time.sleep(0.05)

    def _open(self, i):
        try:
            s = open_attacker(self.port, attacker_source(i))
        except OSError:
            return
        self.open += 1
        self.sel.register(s, selectors.EVENT_READ, i)

    def _loop(self):
        while not self.stop:
            now = time.monotonic()
            for when, i in [d for d in self.due if d[0] <= now]:
                self.due.remove((when, i))
                self.closed.discard(i)
                self.reconnects += 1
                self._open(i)
            # register() from the opening thread meanwhile is safe: epoll is, and
            # the selector's map is only looked up here.
            events = self.sel.select(0.1) if self.sel.get_map() else []
            if not events:
                time.sleep(0.01)
            for key, _ in events:
                s, i = key.fileobj, key.data
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if data.startswith(b"220"):
                    self.greeted += 1
                    continue
                if data and not data.startswith(b"421"):
                    continue
                # 421 (evicted, refused, timed out) or the end: close, and try again if persistent.
                self.sel.unregister(s)
                s.close()
                self.open -= 1
                self.closed.add(i)
                if self.persistent and not self.stop:
                    self.due.append((time.monotonic() + 0.5, i))

    def persist(self):
        """From now on every attacker closed connects again, those closed so far too."""
        self.persistent = True
        self.due.extend((time.monotonic(), i) for i in list(self.closed))

    def close(self):
        self.stop = True
        self.thread.join(5)
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()


def reply(f):
    while True:
        line = f.readline()
        if not line:
            raise OSError("connection closed")
        if line[3:4] != b"-":
            return line


def legit_session(port, source, n):
    """(tries, seconds to 220, seconds to 250) or (tries, None, None)."""
    start = time.monotonic()
    tries = 0
    deadline = start + 60
    while time.monotonic() < deadline:
        tries += 1
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0))
        except OSError:
            time.sleep(0.1)
            continue
        f = s.makefile("rb")
        try:
            if not reply(f).startswith(b"220"):
                time.sleep(0.1)  # a 421: wait a little, as a real client would, and retry
                continue
            greeted = time.monotonic() - start
            msg = qt.make_message(n, to=ALICE, sender="legit@legit.test").replace(b"\n", b"\r\n")
            s.sendall(b"EHLO legit.test\r\n")
            reply(f)
            s.sendall(b"MAIL FROM:<legit@legit.test>\r\nRCPT TO:<%s>\r\nDATA\r\n" % ALICE.encode())
            codes = [reply(f)[:3] for _ in range(3)]
            if codes != [b"250", b"250", b"354"]:
                return tries, greeted, None
            s.sendall(msg + b".\r\n")
            ok = reply(f).startswith(b"250")
            done = time.monotonic() - start
            s.sendall(b"QUIT\r\n")
            return tries, greeted, done if ok else None
        except OSError:
            continue
        finally:
            f.close()
            s.close()
    return tries, None, None


def phase(q, port, attackers, trials, name, pause=0.0):
    """pause: seconds between the client's sessions, for the attackers to take its place back."""
    evict0 = len(evictions(q))
    results = []
    for n in range(trials):
        time.sleep(pause)
        results.append(legit_session(port, "127.1.0.%d" % (1 + n % 250), n))
    tries = sum(r[0] for r in results)
    greeted = [r[1] for r in results if r[1] is not None]
    done = [r[2] for r in results if r[2] is not None]
    ms = lambda xs, f: "%.0f" % (f(xs) * 1000) if xs else "-"  # noqa: E731
    print("%s: %d sessions, %d tries, %d greeted, %d messages accepted (250); to 220: median %s ms, max %s ms; "
          "to 250: median %s ms, max %s ms; evictions %d; attackers open %d, reconnected %d"
          % (name, trials, tries, len(greeted), len(done), ms(greeted, statistics.median), ms(greeted, max),
             ms(done, statistics.median), ms(done, max), len(evictions(q)) - evict0, attackers.open,
             attackers.reconnects), flush=True)
    return len(done) == trials


def evictions(q):
    return [r for r in q.log_lines("smtp") if r.get("event") == "evict"]


def main():
    global ATTACKERS
    ATTACKERS = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    trials = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = ATTACKERS + 200
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, want), hard))
    q = qt.Instance(prefix="quail-bench-exhaustion-")
    attackers = None
    try:
        q.init()
        q.add_user(ALICE)
        port = qt.free_port()
        q.up(smtp="127.0.0.1:%d" % port)
        t = time.monotonic()
        attackers = Attackers(port)
        qt.wait_for(lambda: attackers.greeted >= ATTACKERS * 0.99, 120, "the attackers' greetings (%d greeted, %d open)" % (attackers.greeted, attackers.open), interval=0.2)
        print("%d attackers greeted in %.1f s (%d open); smtpd processes: %d"
              % (attackers.greeted, time.monotonic() - t, attackers.open, len(q.pids("smtpd"))), flush=True)
        time.sleep(3)  # every attacker idle past tcpserver's -i 2
        ok = phase(q, port, attackers, trials, "idle attackers")
        attackers.persist()
        time.sleep(3)  # every place taken again, and idle past -i
        ok = phase(q, port, attackers, trials, "persistent attackers (reconnect 0.5 s after being closed)",
                   pause=1.0) and ok
        deadline = time.monotonic() + 120
        while q.maildir_count(ALICE) < 2 * trials and time.monotonic() < deadline:
            time.sleep(0.5)
        print("delivered to alice: %d of %d" % (q.maildir_count(ALICE), 2 * trials))
        return 0 if ok else 1
    finally:
        if attackers:
            attackers.close()
        q.cleanup()


if __name__ == "__main__":
    sys.exit(main())
