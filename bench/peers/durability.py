"""durability: count what each system does to keep a message, with strace(1) attached to
all of its processes (-f follows every child it starts):
  fsync_counts     fsync-family calls per message over a short run (strace -c);
  before_250       fsync-family calls between the end of DATA and the 250 reply (all, and
                   those of the receiving side: not the system's delivery programs), one
                   message at a time with pauses so no earlier delivery overlaps
                   (strace -ttt timeline against the client's own clock), and any DNS
                   traffic (connect/sendto to port 53) seen on the way.
strace slows every traced call: these runs give counts, never rates.
"""
import os
import re
import signal
import socket
import statistics
import subprocess
import tempfile
import time

import measure
import procs
from systems import USER

SYNC_CALLS = ("fsync", "fdatasync", "sync_file_range", "syncfs", "sync", "msync")
LINE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(\w+)\((.*)$")
FORK = re.compile(r"^(\d+)\s+[\d.]+\s+(?:<\.\.\. )?(?:clone3?|v?fork)\b.*= (\d+)$")


def attach(system, argv_head, out):
    """Start strace on every live process of the system; returns the Popen once attached,
    and the names of the processes it attached to (some exit before the trace is read)."""
    pids = system.tree()
    names = {p: procs.comm_title(p) for p in pids}
    argv = ["strace", "-f", "-o", out] + argv_head
    for p in pids:
        argv += ["-p", str(p)]
    st = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # strace says "Process N attached" once per thread; give it a moment for all of them
    time.sleep(1.0 + 0.05 * len(pids))
    return st, names


def detach(st):
    st.send_signal(signal.SIGINT)
    try:
        st.wait(30)
    except subprocess.TimeoutExpired:
        st.kill()
        st.wait()


def fsync_counts(system, n=200):
    """{syscall: calls} over n messages (8 sessions, many per session), and per message."""
    if not measure.settle(system):
        return {"error": "queue did not drain"}
    fd, out = tempfile.mkstemp(prefix="peers-strace-c-", dir="/var/tmp")
    os.close(fd)
    st, _ = attach(system, ["-c", "-e", "trace=" + ",".join(SYNC_CALLS)], out)
    try:
        r = subprocess.run(measure.source_argv(system.port, n, 8, True, USER), capture_output=True,
                           timeout=measure.DEADLINE)
        if r.returncode != 0:
            return {"error": "smtp-source exited %d" % r.returncode}
        deadline = time.monotonic() + measure.DEADLINE
        while (system.delivered() < n or system.queued()) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the last deliveries' cleanup (queue removal) is part of the count
    finally:
        detach(st)
    calls = {}
    with open(out) as f:
        for line in f:
            fld = line.split()
            if fld and fld[-1] in SYNC_CALLS and len(fld) >= 5:
                calls[fld[-1]] = int(fld[3])
    os.unlink(out)
    total = sum(calls.values())
    return {"calls": calls, "total": total, "per_msg": total / n, "messages": n,
            "delivered": system.delivered()}


def message_bytes(i):
    head = ("From: <b@bench.test>\r\nTo: <%s>\r\nSubject: durability %d\r\n"
            "Message-ID: <dur-%d@client.bench.test>\r\n\r\n" % (USER, i, i)).encode()
    line = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456\r\n"
    return head + line * 52 + b".\r\n"


def before_250(system, n=10, gap=0.5):
    """Per message: the fsync-family calls (and by which programs) made between the client
    sending the final "." and reading the 250; plus DNS traffic seen."""
    if not measure.settle(system):
        return {"error": "queue did not drain"}
    fd, out = tempfile.mkstemp(prefix="peers-strace-t-", dir="/var/tmp")
    os.close(fd)
    st, names = attach(system, ["-ttt", "-e", "trace=execve,clone,clone3,fork,vfork,connect,sendto," + ",".join(SYNC_CALLS)], out)
    windows = []
    try:
        with socket.create_connection(("127.0.0.1", system.port), timeout=30) as s:
            measure.read_reply(s)
            s.sendall(b"EHLO client.bench.test\r\n")
            measure.read_reply(s)
            for i in range(n):
                for cmd in (b"MAIL FROM:<b@bench.test>\r\n", b"RCPT TO:<%s>\r\n" % USER.encode(), b"DATA\r\n"):
                    s.sendall(cmd)
                    measure.read_reply(s)
                t0 = time.time()
                s.sendall(message_bytes(i))
                reply = measure.read_reply(s)
                windows.append((t0, time.time(), reply[:3]))
                time.sleep(gap)  # this message's delivery ends before the next one starts
            s.sendall(b"QUIT\r\n")
            measure.read_reply(s)
        deadline = time.monotonic() + 60
        while (system.delivered() < n or system.queued()) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        detach(st)
    syncs, dns = [], 0
    with open(out, errors="replace") as f:
        for line in f:
            fm = FORK.match(line.rstrip())
            if fm and int(fm.group(1)) in names:  # a child is its parent until it execs
                names.setdefault(int(fm.group(2)), names[int(fm.group(1))])
                continue
            m = LINE.match(line)
            if not m:
                continue
            pid, ts, call, args = int(m.group(1)), float(m.group(2)), m.group(3), m.group(4)
            if call == "execve":
                names[pid] = os.path.basename(args.split('"')[1]) if '"' in args else "?"
            elif call in ("connect", "sendto"):
                dns += "htons(53)" in args
            elif call in SYNC_CALLS:
                syncs.append((ts, pid, call))
    os.unlink(out)
    per_msg, recv, who = [], [], set()
    for t0, t1, _ in windows:
        inside = [(pid, call) for ts, pid, call in syncs if t0 <= ts <= t1]
        per_msg.append(len(inside))
        r = 0
        for pid, call in inside:
            name = names.get(pid) or procs.comm_title(pid) or "pid%d" % pid
            r += name not in system.delivery
            who.add("%s:%s%s" % (name, call, " (delivery)" if name in system.delivery else ""))
        recv.append(r)
    by_prog = {}
    for _, pid, call in syncs:  # the whole trace: every message's acceptance and delivery
        name = names.get(pid) or procs.comm_title(pid) or "pid%d" % pid
        by_prog[name] = by_prog.get(name, 0) + 1.0 / n
    lat = [(t1 - t0) * 1000 for t0, t1, _ in windows]
    return {"per_msg": per_msg, "median": statistics.median(per_msg) if per_msg else None,
            "latency_ms": lat, "latency_median_ms": statistics.median(lat) if lat else None,
            "receiving": recv, "receiving_median": statistics.median(recv) if recv else None,
            "who": sorted(who), "dns": dns, "replies": sorted({w[2] for w in windows}),
            "total_syncs": len(syncs), "by_program": by_prog}
