"""procs: what bench/peers reads about processes and sockets from /proc and ss(8):
process trees, CPU time, resident memory, the owner of a TCP connection, listen backlogs.
Trusts /proc; every read tolerates a process that is gone.
"""
import os
import signal
import subprocess
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TICK = os.sysconf("SC_CLK_TCK")


def read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:
        return b"" if "b" in mode else ""


def stat_fields(pid):
    """Fields of /proc/pid/stat after the command (index 0 = state), or None when gone."""
    s = read("/proc/%d/stat" % pid)
    if not s:
        return None
    return s.rsplit(")", 1)[1].split()


def alive(pid):
    f = stat_fields(pid)
    return f is not None and f[0] != "Z"


def parents():
    out = {}
    for e in os.listdir("/proc"):
        if e.isdigit():
            f = stat_fields(int(e))
            if f:
                out[int(e)] = int(f[1])
    return out


def tree(roots):
    """roots and all their descendants (zombies included: their CPU time is not yet the parent's)."""
    pp = parents()
    out, todo = set(), [r for r in roots if r in pp]
    while todo:
        p = todo.pop()
        if p in out:
            continue
        out.add(p)
        todo += [c for c, parent in pp.items() if parent == p]
    return sorted(out)


def cpu_ticks(pids):
    """utime+stime+cutime+cstime of the processes: a tree's total stays right while its
    children come, go and are reaped, as long as its roots live."""
    total = 0
    for p in pids:
        f = stat_fields(p)
        if f:
            total += sum(int(x) for x in f[11:15])
    return total


def machine_ticks():
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    v = [int(x) for x in read("/proc/stat").splitlines()[0].split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def status_kib(pid, key="VmRSS"):
    for line in read("/proc/%d/status" % pid).splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


def pss_kib(pid):
    for line in read("/proc/%d/smaps_rollup" % pid).splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return None


def comm_title(pid):
    """A short name for a process: OpenSMTPD's "smtpd: queue" title, else the program name."""
    argv = read("/proc/%d/cmdline" % pid, "rb").split(b"\0")
    first = argv[0].decode("latin-1") if argv and argv[0] else ""
    if first.startswith("smtpd:"):
        return first
    return os.path.basename(first) if first else read("/proc/%d/comm" % pid).strip()


def socket_owners(server_port, client_port, among):
    """Pids (from `among`) holding the server end of the loopback connection
    127.0.0.1:server_port <- 127.0.0.1:client_port."""
    want = None
    for line in read("/proc/net/tcp").splitlines()[1:]:
        f = line.split()
        lport = int(f[1].split(":")[1], 16)
        rport = int(f[2].split(":")[1], 16)
        if lport == server_port and rport == client_port:
            want = "socket:[%s]" % f[9]
    if want is None:
        return []
    out = []
    for p in among:
        try:
            fds = os.listdir("/proc/%d/fd" % p)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%d/fd/%s" % (p, fd)) == want:
                    out.append(p)
                    break
            except OSError:
                pass
    return out


def listen_backlog(port):
    """The listen(2) backlog of the TCP listener on 127.0.0.1:port (ss's Send-Q), or None."""
    r = subprocess.run(["ss", "-Hltn", "sport = :%d" % port], capture_output=True, text=True, timeout=10)
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) >= 4 and f[3].endswith(":%d" % port):
            return int(f[2])
    return None


def wait_gone(pids, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)


def kill_all(pids):
    """SIGKILL whatever of these exact pids still runs (after a polite stop)."""
    for p in pids:
        if alive(p):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass


def git_commit():
    r = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return r.stdout.strip() or "?"
