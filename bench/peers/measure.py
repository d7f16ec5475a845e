"""measure: one timed load on one system (smtp-source as the client, smtp-sink as the far
end of relays), the memory of one idle SMTP session, and the machine's state around a run.
Every wait is bounded; a run that fails or times out is recorded, never fatal.
"""
import os
import re
import socket
import subprocess
import threading
import time

import procs
from systems import USER

SOURCE = "/usr/sbin/smtp-source"
SINK = "/usr/sbin/smtp-sink"
RELAY_RCPT = "r@relay.test"
CAP = 60        # seconds a client may send before the run is cut short ("capped")
DEADLINE = 300  # seconds for delivery after the last message was accepted


def settle(system, timeout=120):
    """Wait for the system's queue to drain, empty its Maildir, flush dirty pages, so each
    run starts from the same state. Returns False when the queue did not drain."""
    deadline = time.monotonic() + timeout
    while system.queued() and time.monotonic() < deadline:
        time.sleep(0.1)
    drained = not system.queued()
    system.clean()
    os.sync()
    return drained


def source_argv(port, n, sessions, reuse, rcpt):
    argv = [SOURCE, "-c", "-l", "4096", "-m", str(n), "-s", str(sessions), "-f", "b@bench.test", "-t", rcpt,
            "-M", "client.bench.test"]
    if reuse:
        argv.append("-d")  # many messages per session; without it one connection per message
    return argv + ["127.0.0.1:%d" % port]


class Counted:
    """A Postfix test program run with -c, whose running counter (on stdout, a number per
    "." received or sent) is read by a thread: smtp-source prints "N\\r", smtp-sink
    "sess=N quit=N mesg=N\\r". The sink is counted so, not stopped by -M: -M exits before
    the last reply, and the relaying system then retries that message."""

    def __init__(self, argv, pattern):
        self.count, self._buf, self._pattern, self._err = 0, b"", re.compile(pattern), ""
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        fd = self.proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                return
            self._buf = (self._buf + chunk)[-256:]
            for m in self._pattern.finditer(self._buf):
                self.count = max(self.count, int(m.group(1)))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(5)
        if not self.proc.stderr.closed:
            self._err = self.proc.stderr.read().decode("latin-1").strip()
            self.proc.stderr.close()
        return self._err


def relay_sink(port):
    sink = Counted([SINK, "-c", "-u", "nobody", "127.0.0.1:%d" % port, "1024"], rb"mesg=(\d+)")
    deadline = time.monotonic() + 10
    while procs.listen_backlog(port) is None:
        if time.monotonic() > deadline or sink.proc.poll() is not None:
            sink.stop()
            raise RuntimeError("smtp-sink did not listen on %d" % port)
        time.sleep(0.02)
    return sink


def wait_count(count, n, deadline):
    while count() < n and time.monotonic() < deadline:
        time.sleep(0.01)
    return count()


def run_once(system, n, sessions, reuse, relay_port=None):
    """One measured load of n messages. relay_port None: local delivery to USER (end-to-end
    = that many files in Maildir/new); else relay to RELAY_RCPT (end-to-end = smtp-sink has
    them). A client still sending after CAP seconds is stopped: the run then counts the
    messages accepted by then ("capped"). Returns a dict: n (messages counted), accept_s,
    e2e_s (None when not measured), cpu_ms (the system's own processes, per message),
    busy (machine CPU busy share), capped, error."""
    out = {"n": n, "accept_s": None, "e2e_s": None, "cpu_ms": None, "busy": None, "capped": False,
           "error": None}
    if not settle(system):
        out["error"] = "queue did not drain before the run"
        return out
    sink = relay_sink(relay_port) if relay_port else None
    rcpt = RELAY_RCPT if relay_port else getattr(system, "rcpt", USER)  # quail-system: a login
    count = (lambda: sink.count) if sink else system.delivered
    tree0 = system.tree()
    cpu0, (busy0, tot0) = procs.cpu_ticks(tree0), procs.machine_ticks()
    start = time.monotonic()
    src = Counted(source_argv(system.port, n, sessions, reuse, rcpt), rb"(\d+)\r")
    try:
        try:
            src.proc.wait(CAP)
        except subprocess.TimeoutExpired:
            out["capped"] = True
        accepted = time.monotonic()
        if out["capped"]:
            src.stop()
            out["n"] = n = src.count
        else:
            src.reader.join(5)
        if src.proc.returncode != 0 and not out["capped"]:
            out["error"] = "smtp-source exited %d: %s" % (src.proc.returncode, src.stop()[:200])
            return out
        if n == 0:
            out["error"] = "no message accepted in %d s" % CAP
            return out
        out["accept_s"] = accepted - start
        if system.maildir is None and sink is None:
            return out  # smtp-sink as the server: accept only
        got = wait_count(count, n, accepted + DEADLINE)
        if got < n:
            out["error"] = "%d of %d delivered %d s after the last was accepted" % (got, n, DEADLINE)
            return out
        out["e2e_s"] = time.monotonic() - start
        time.sleep(0.05)  # let the last worker be reaped so its CPU time is its parent's
        busy1, tot1 = procs.machine_ticks()
        cpu1 = procs.cpu_ticks(sorted(set(system.tree()) | set(tree0)))
        out["cpu_ms"] = (cpu1 - cpu0) * 1000.0 / procs.TICK / n
        out["busy"] = (busy1 - busy0) / max(1, tot1 - tot0)
        return out
    finally:
        src.stop()
        if sink:
            # the relaying system still reads the last replies: stop the sink once its queue is empty
            deadline = time.monotonic() + 30
            while system.queued() and time.monotonic() < deadline:
                time.sleep(0.05)
            sink.stop()


def read_reply(sock):
    """One complete SMTP reply (all its lines) as text."""
    buf = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return buf.decode("latin-1")
        buf += chunk
        lines = buf.split(b"\r\n")
        if len(lines) > 1 and len(lines[-2]) >= 4 and lines[-2][3:4] == b" ":
            return buf.decode("latin-1")


def idle_session(system):
    """Connect, read the greeting, say EHLO, then measure the process(es) holding the
    server end of the connection, and the whole system's memory (PSS, so shared pages
    count once) while this one session sits idle."""
    with socket.create_connection(("127.0.0.1", system.port), timeout=10) as s:
        read_reply(s)
        s.sendall(b"EHLO client.bench.test\r\n")
        read_reply(s)
        time.sleep(0.5)
        pids = system.tree()
        owners = procs.socket_owners(system.port, s.getsockname()[1], pids)
        res = {
            "owners": [{"pid": p, "name": procs.comm_title(p), "rss": procs.status_kib(p),
                        "pss": procs.pss_kib(p)} for p in owners],
            "total_pss": sum(procs.pss_kib(p) or 0 for p in pids),
            "total_rss": sum(procs.status_kib(p) or 0 for p in pids),
            "processes": len(pids),
            "names": sorted({procs.comm_title(p) for p in pids}),
        }
        s.sendall(b"QUIT\r\n")
        try:
            read_reply(s)
        except OSError:
            pass
    return res


def machine_state():
    """Load average and the busiest processes outside this run, for the report's caveats."""
    load = procs.read("/proc/loadavg").split()[:3]
    return {"loadavg": " ".join(load)}
