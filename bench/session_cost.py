#!/usr/bin/python3
"""bench/session_cost.py: what one SMTP session costs from connect to close, one
session at a time (so the figure is the programs' start and the protocol, not
concurrency): plaintext (greeting, EHLO, QUIT), STARTTLS (..., STARTTLS, the
handshake, EHLO, QUIT), implicit TLS (the handshake, greeting, EHLO, QUIT) and
message (greeting, EHLO, MAIL, RCPT, DATA with 4 KiB, QUIT: one message per
connection, as an MX peer sends it; the queue-inject it starts is counted).
make bench (run.py) takes the three rows from here. Run alone it compares smtpd
binaries, interleaved (A B C A B C ...), on one root:

    bench/session_cost.py [--sessions N] [--rounds R] [--kinds plain,starttls,starttls-exec,implicit,message] SMTPD...

Each SMTPD runs under tcpserver, with QUAIL_ROOT a fresh `quail init` root (its
certificate) and tlsd from the build, a resident `tlsd -d` beside them as quail
up starts one (its CPU counted with the sessions'; "starttls-exec" is a STARTTLS
session with its socket moved aside, so smtpd execs a tlsd of its own); prints, for each kind, the median wall ms per
session and the median CPU the session's programs used (tcpserver's reaped
children: smtpd, tlsd, and smtpd's reaped queue-inject; under tcpserver -F the
fork server's own CPU and its reaped sessions'), which a loaded machine
disturbs far less than the wall time, and tcpserver's own CPU per session (accept,
spawn, reap, its log lines).
"""
import sys
sys.dont_write_bytecode = True
import os
import socket
import ssl
import statistics
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
import quailtest as qt  # noqa: E402


KINDS = ("plain", "starttls", "starttls-exec", "implicit", "message")
# The resident tlsd (tlsd -d) that quail up starts beside the listeners when a
# certificate is there: STARTTLS forks its tlsd from it. "starttls-exec" is the
# same session with its socket moved aside, so smtpd execs a tlsd of its own.
RESIDENT = []


def _context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _reply(f):
    while True:
        line = f.readline()
        if not line:
            raise RuntimeError("connection closed")
        if line[3:4] != b"-":
            return line


MESSAGE = (b"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: one per connection\r\n\r\n"
           + (b"x" * 76 + b"\r\n") * 52)  # ~4 KiB, as smtp-source -l 4096


def one_session(port, kind, ctx):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        if kind == "implicit":
            s = ctx.wrap_socket(s, server_hostname="bench")
        f = s.makefile("rb")
        _reply(f)
        s.sendall(b"EHLO bench.example.test\r\n")
        _reply(f)
        if kind.startswith("starttls"):
            s.sendall(b"STARTTLS\r\n")
            if not _reply(f).startswith(b"220"):
                raise RuntimeError("STARTTLS refused")
            s = ctx.wrap_socket(s, server_hostname="bench")
            f = s.makefile("rb")
            s.sendall(b"EHLO bench.example.test\r\n")
            _reply(f)
        if kind == "message":
            for cmd in (b"MAIL FROM:<bob@example.test>\r\n", b"RCPT TO:<alice@example.test>\r\n", b"DATA\r\n"):
                s.sendall(cmd)
                _reply(f)
            s.sendall(MESSAGE + b".\r\n")
            if not _reply(f).startswith(b"250"):
                raise RuntimeError("message refused")
        s.sendall(b"QUIT\r\n")
        _reply(f)
    finally:
        s.close()


def _stat_fields(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def fork_servers_of(pid):
    """tcpserver -F's fork servers (comm "<program>-forks"), children of pid."""
    out = []
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        fields = _stat_fields(int(e))
        try:
            with open("/proc/%s/comm" % e) as f:
                comm = f.read().strip()
        except OSError:
            continue
        if fields and int(fields[1]) == pid and comm.endswith("-forks"):
            out.append(int(e))
    return out


def children_cpu_ms(pid, own=False):
    """CPU (user + system) of the reaped children of pid (tcpserver: its sessions'
    smtpd, tlsd...; with -F, those its fork server reaped, and the server's own),
    or with own=True of pid itself, in ms; None when pid is gone. Counted in clock
    ticks, so a run needs some hundreds of sessions to be precise."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    first = 11 if own else 13
    ticks = int(fields[first]) + int(fields[first + 1])
    if not own:
        for server in fork_servers_of(pid) + RESIDENT:
            f = _stat_fields(server)
            if f:
                ticks += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    return ticks * 1000.0 / os.sysconf("SC_CLK_TCK")


def ms_per_session(port, kind, n, server_pid=None):
    """Wall ms per session; with server_pid (the tcpserver), also the sessions' own
    CPU ms per session: (wall, cpu), cpu None without server_pid."""
    if server_pid is None:
        return cost_per_session(port, kind, n)[0]
    return cost_per_session(port, kind, n, server_pid)[:2]


def cost_per_session(port, kind, n, server_pid=None, sock=None):
    """(wall ms, the sessions' CPU ms, tcpserver's own CPU ms) per session; the
    CPU figures are None without server_pid. sock: the resident tlsd's socket,
    moved aside for a starttls-exec run."""
    if kind == "starttls-exec" and sock and os.path.exists(sock):
        os.rename(sock, sock + ".aside")
        try:
            return cost_per_session(port, "starttls", n, server_pid)
        finally:
            os.rename(sock + ".aside", sock)
    ctx = _context()
    one_session(port, kind, ctx)  # warm the page cache and Python's ssl
    time.sleep(0.05)  # let tcpserver reap it before the CPU count starts
    cpu0 = children_cpu_ms(server_pid) if server_pid else None
    own0 = children_cpu_ms(server_pid, own=True) if server_pid else None
    start = time.monotonic()
    for _ in range(n):
        one_session(port, kind, ctx)
    wall = (time.monotonic() - start) * 1000.0 / n
    if cpu0 is None:
        return wall, None, None
    time.sleep(0.1)
    cpu1 = children_cpu_ms(server_pid)
    own1 = children_cpu_ms(server_pid, own=True)
    per = lambda a, b: None if a is None or b is None else (b - a) / n  # noqa: E731
    return wall, per(cpu0, cpu1), per(own0, own1)


def start_tcpserver(root, port, argv):
    env = dict(os.environ, QUAIL_ROOT=root)
    env.pop("QUAIL_READY_FD", None)
    p = subprocess.Popen([qt.bin_path("tcpserver"), "-c", "10", "127.0.0.1", str(port)] + argv, env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port, 20)
    return p


def wait_listening(port, timeout):
    """Until 127.0.0.1:port takes a connection (at most timeout seconds)."""
    def ready():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False
    qt.wait_for(ready, timeout, "tcpserver on port %d" % port)


def compare(smtpds, sessions, rounds, kinds=("plain", "starttls", "implicit")):
    q = qt.Instance(prefix="quail-session-cost-")
    qt.register_cleanup(q)
    q.init()
    q.add_user("alice@example.test")  # the "message" kind's recipient; its mail stays queued
    servers = []
    pids = {}
    try:
        ports = []
        env = dict(os.environ, QUAIL_ROOT=q.root)
        env.pop("QUAIL_READY_FD", None)
        resident = subprocess.Popen([qt.bin_path("tlsd"), "-d"], env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        servers.append(resident)
        RESIDENT[:] = [resident.pid]
        sock = q.path("run", "tlsd.sock")
        qt.wait_for(lambda: os.path.exists(sock), 20, "the resident tlsd's socket")
        for path in smtpds:
            plain, implicit = qt.free_port(), qt.free_port()
            servers.append(start_tcpserver(q.root, plain, [path]))
            pids[(len(ports), "plain")] = servers[-1].pid
            servers.append(start_tcpserver(q.root, implicit, [qt.bin_path("tlsd"), path]))
            pids[(len(ports), "implicit")] = servers[-1].pid
            ports.append((plain, implicit))
        results = {(i, k): [] for i in range(len(smtpds)) for k in KINDS}
        for _ in range(rounds):
            for i, (plain, implicit) in enumerate(ports):
                for kind, port in [(k, p) for k, p in (("plain", plain), ("starttls", plain), ("starttls-exec", plain),
                                                        ("implicit", implicit), ("message", plain)) if k in kinds]:
                    pid = pids[(i, "implicit" if kind == "implicit" else "plain")]
                    try:
                        results[(i, kind)].append(cost_per_session(port, kind, sessions, pid, sock))
                    except (OSError, RuntimeError, ssl.SSLError):
                        pass  # an smtpd without STARTTLS (an older build): its row reads n/a
        for i, path in enumerate(smtpds):
            print("%s (%d KiB)" % (path, os.path.getsize(path) // 1024))
            for k in kinds:
                v = results[(i, k)]
                if not v:
                    print("  %-9s n/a" % k)
                    continue
                walls = [w for w, _, _ in v]
                cpus = [c for _, c, _ in v if c is not None]
                owns = [o for _, _, o in v if o is not None]
                print("  %-9s wall median %.3f ms/session (runs: %s); sessions' CPU median %s ms/session (runs: %s);"
                      " tcpserver's own %s ms/session"
                      % (k, statistics.median(walls), " ".join("%.3f" % x for x in walls),
                         "%.3f" % statistics.median(cpus) if cpus else "?", " ".join("%.3f" % x for x in cpus),
                         "%.3f" % statistics.median(owns) if owns else "?"))
    finally:
        for p in servers:
            p.terminate()
            p.wait(10)
        q.cleanup()


def main():
    args = sys.argv[1:]
    sessions, rounds, kinds = 300, 5, ("plain", "starttls", "implicit")
    while args and args[0].startswith("--"):
        if args[0] == "--sessions":
            sessions = int(args[1])
        elif args[0] == "--rounds":
            rounds = int(args[1])
        elif args[0] == "--kinds":
            kinds = tuple(args[1].split(","))
            if not set(kinds) <= set(KINDS):
                print(__doc__, file=sys.stderr)
                return 100
        else:
            print(__doc__, file=sys.stderr)
            return 100
        args = args[2:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 100
    compare([os.path.abspath(a) for a in args], sessions, rounds, kinds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
