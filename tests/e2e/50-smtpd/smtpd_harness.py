"""smtpd_harness: runs smtpd directly over a socketpair (no tcpserver needed),
builds small roots, reads queue files, and plays protocol dialog files.

A dialog file (dialogs/*.dialog) is one scenario, one step per line:
    # comment
    control NAME VALUE      write ROOT/control/NAME (VALUE, then a newline) before starting
    env KEY=VALUE           extra environment for smtpd (RELAYCLIENT=, QUEUE_PROGRAM=...)
    c -> TEXT               the client sends TEXT + CRLF; consecutive sends go in ONE write
    c => TEXT               sends TEXT raw, with \\r \\n \\0 \\t \\xNN escapes and no CRLF added
    c <~ PREFIX             the next reply (all its lines, CRLF-joined) starts with PREFIX
    c <- TEXT               the next reply is exactly TEXT (one line)
    c <* TEXT               the next reply contains TEXT somewhere
    c <.                    the server closes the connection (nothing more is said)
    queue N                 ROOT/queue/todo holds exactly N messages now
A reply is everything up to a line with a space after its code, so a multi-line
EHLO reply is one step.
"""
import atexit
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time

import quailtest as qt

HERE = os.path.dirname(os.path.abspath(__file__))
DIALOGS = os.path.join(HERE, "dialogs")
HOSTNAME = "mx.example.test"
DOMAIN = "example.test"
USERS = ("alice@example.test", "bob@example.test")
TIMEOUT = 10.0


# ---------------------------------------------------------------- roots

def _cdb_hash(key):
    h = 5381
    for c in key:
        h = ((h << 5) + h) & 0xffffffff ^ c
    return h


def write_cdb(path, records):
    """A djb cdb of (key bytes, value bytes) records (tests only: no tool needed)."""
    tables = [[] for _ in range(256)]
    body = b""
    pos = 2048
    for k, v in records:
        h = _cdb_hash(k)
        tables[h & 255].append((h, pos))
        rec = struct.pack("<LL", len(k), len(v)) + k + v
        body += rec
        pos += len(rec)
    header, tails = b"", b""
    for t in tables:
        n = len(t) * 2
        slots = [(0, 0)] * n
        for h, p in t:
            i = (h >> 8) % n
            while slots[i][1]:
                i = (i + 1) % n
            slots[i] = (h, p)
        header += struct.pack("<LL", pos + len(tails), n)
        tails += b"".join(struct.pack("<LL", h, p) for h, p in slots)
    with open(path, "wb") as f:
        f.write(header + body + tails)


_TEMPLATE = None


def make_root(parent):
    """A fresh root under `parent` with domain example.test and users alice, bob: a
    copy of one template root per test process (user add hashes slowly on purpose)."""
    global _TEMPLATE
    if _TEMPLATE is None:
        tmp = tempfile.mkdtemp(prefix="quail-smtpd-template-")
        atexit.register(shutil.rmtree, tmp, True)
        _TEMPLATE = _build_root(tmp)
    root = os.path.join(parent, "root")
    subprocess.run(["cp", "-a", _TEMPLATE, root], check=True, timeout=60)
    return root


def _build_root(parent):
    """Uses `quail init` / `quail user add` when built, else lays the root out by hand."""
    root = os.path.join(parent, "root")
    if not qt.missing("quail"):
        env = dict(os.environ, QUAIL_ROOT=root)
        q = qt.bin_path("quail")
        subprocess.run([q, "--root", root, "init", "--hostname", HOSTNAME, "--domain", DOMAIN],
                       check=True, capture_output=True, env=env, timeout=60)
        for u in USERS:
            subprocess.run([q, "--root", root, "user", "add", u], input=b"secret-password\n",
                           check=True, capture_output=True, env=env, timeout=60)
    else:
        for d in ("control", "users", "mail", "log", "run", "queue/tmp", "queue/todo", "queue/mess",
                  "queue/stat", "queue/lock"):
            os.makedirs(os.path.join(root, d))
        os.mkfifo(os.path.join(root, "queue/lock/trigger"), 0o622)
        write_cdb(os.path.join(root, "users/users.cdb"),
                  [(u.encode(), b"$argon2id$not-a-real-hash") for u in USERS])
        for u in USERS:
            os.makedirs(os.path.join(root, "mail", DOMAIN, u.split("@")[0], "Maildir"))
    # What these tests rely on, whatever init wrote.
    write_control(root, "me", HOSTNAME)
    write_control(root, "virtualdomains", DOMAIN)
    write_control(root, "rcpthosts", DOMAIN + "\nbackup.test\n.relayed.test")
    write_control(root, "locals", "")
    write_control(root, "authcheck", "0")  # no SPF/DMARC: they would ask the machine's resolver
    return root


def write_control(root, name, value):
    if isinstance(value, str):
        value = value.encode("utf-8")
    with open(os.path.join(root, "control", name), "wb") as f:
        f.write(value + b"\n")


def queue_files(root):
    """[(header dict, message bytes, envelope dict)] of every file in queue/todo, by name."""
    out = []
    d = os.path.join(root, "queue", "todo")
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name), "rb") as f:
            out.append(parse_queue_file(f.read()))
    return out


def parse_queue_file(data):
    head = data[:56]
    m = re.match(rb"QUAIL-QUEUE 1 (\d{20}) (\d{20})\n$", head)
    assert m, "bad queue header %r" % head
    length = int(m.group(1))
    message = data[56:56 + length]
    records = data[56 + length:].split(b"\0")
    assert records[-2:] == [b"", b""], "envelope does not end in the empty record"
    env = {"sender": None, "recipients": [], "ext": {}}
    for r in records[:-2]:
        t, v = r[:1], r[1:].decode("utf-8")
        if t == b"F":
            env["sender"] = v
        elif t == b"T":
            env["recipients"].append({"address": v})
        elif t == b"X":
            k, _, val = v.partition("=")
            (env["recipients"][-1] if env["recipients"] else env["ext"])[k] = val
    return {"length": length}, message, env


# ---------------------------------------------------------------- a session

class Session:
    """smtpd with fd 0/1 one end of a socketpair; self.sock is the client's end."""

    def __init__(self, root, env=None, remote_ip="127.0.0.1"):
        a, b = socket.socketpair()
        e = dict(os.environ)
        for k in ("RELAYCLIENT", "QUEUE_PROGRAM", "TCPREMOTEIP"):
            e.pop(k, None)
        e.update({"QUAIL_ROOT": root, "TCPREMOTEIP": remote_ip, "TCPREMOTEPORT": "40000",
                  "TCPLOCALIP": "127.0.0.1", "PROTO": "TCP"})
        e.update(env or {})
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([qt.bin_path("smtpd")], stdin=b, stdout=b, stderr=self.log, env=e)
        b.close()
        self.sock = a
        self.sock.settimeout(TIMEOUT)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def _line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("smtpd closed the connection; had %r" % self.buf)
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        assert line.endswith(b"\r"), "reply line without CRLF: %r" % line
        return line[:-1].decode("utf-8", "replace")

    def reply(self):
        """The next complete reply: its lines joined by CRLF."""
        lines = [self._line()]
        while len(lines[-1]) > 3 and lines[-1][3] == "-":
            lines.append(self._line())
        return "\r\n".join(lines)

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def closed(self):
        """True when smtpd closed the connection with nothing left unread."""
        if self.buf:
            return False
        try:
            return self.sock.recv(1) == b""
        except (socket.timeout, ConnectionResetError):
            return False

    def close(self):
        """Closes the client's end, waits for smtpd; a sanitizer report in its log fails."""
        try:
            self.sock.close()
        finally:
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        qt.assert_no_sanitizer_report(self.log, "smtpd's log")

    def log_lines(self, prog="smtpd"):
        """smtpd's log lines (parsed logfmt) once it has exited; those of queue-inject,
        which shares its fd 2, when prog is None or "queue-inject"."""
        self.close()
        self.log.seek(0)
        lines = [qt.parse_logfmt(l) for l in self.log.read().decode("utf-8", "replace").splitlines() if l]
        return [l for l in lines if prog is None or l.get("prog") == prog]


# ---------------------------------------------------------------- dialogs

_ESCAPES = {"r": b"\r", "n": b"\n", "t": b"\t", "0": b"\0", "\\": b"\\"}


def unescape(text):
    """Bytes of text: characters in UTF-8, \\r \\n \\t \\0 \\\\ and \\xNN (one raw octet)."""
    out, i = b"", 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            n = text[i + 1]
            if n == "x":
                out += bytes([int(text[i + 2:i + 4], 16)])
                i += 4
                continue
            if n in _ESCAPES:
                out += _ESCAPES[n]
                i += 2
                continue
        out += c.encode("utf-8")
        i += 1
    return out


def parse_dialog(path):
    setup, steps = {"control": {}, "env": {}}, []
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            m = re.match(r"^c (->|=>|<~|<-|<\*|<\.) ?(.*)$", line)
            if m:
                steps.append((n, m.group(1), m.group(2)))
            elif line.startswith("control "):
                _, name, value = (line.split(" ", 2) + [""])[:3]
                setup["control"][name] = unescape(value)
            elif line.startswith("env "):
                k, _, v = line[4:].partition("=")
                setup["env"][k] = v
            elif line.startswith("queue "):
                steps.append((n, "queue", line.split()[1]))
            else:
                raise ValueError("%s:%d: cannot parse %r" % (path, n, line))
    return setup, steps


def run_dialog(path, workdir):
    """Plays one dialog file against a fresh root; raises AssertionError naming the line."""
    setup, steps = parse_dialog(path)
    root = make_root(workdir)
    for name, value in setup["control"].items():
        write_control(root, name, value)
    env = {k: v.replace("$HERE", HERE) for k, v in setup["env"].items()}
    s = Session(root, env)
    name = os.path.basename(path)
    try:
        pending = b""
        for n, op, arg in steps:
            where = "%s:%d" % (name, n)
            if op in ("->", "=>"):
                pending += (arg.encode("utf-8") + b"\r\n") if op == "->" else unescape(arg)
                continue
            if pending:
                s.send(pending)
                pending = b""
            if op == "queue":
                got = len(os.listdir(os.path.join(root, "queue", "todo")))
                assert got == int(arg), "%s: %d messages queued, expected %s" % (where, got, arg)
                continue
            if op == "<.":
                assert s.closed(), "%s: expected the connection to close" % where
                continue
            try:
                r = s.reply()
            except (EOFError, socket.timeout) as e:
                raise AssertionError("%s: no reply (%s), expected %s %s" % (where, e, op, arg))
            want = unescape(arg).decode("utf-8", "replace")
            ok = {"<~": r.startswith(want), "<-": r == want, "<*": want in r}[op]
            assert ok, "%s: reply %r does not match %s %r" % (where, r, op, arg)
        if pending:
            s.send(pending)
    finally:
        s.close()
    return root


def dialog_files():
    return sorted(os.path.join(DIALOGS, f) for f in os.listdir(DIALOGS) if f.endswith(".dialog"))


def sanitized():
    """True when smtpd was built with AddressSanitizer (memory figures mean nothing then)."""
    try:
        with open(qt.bin_path("smtpd"), "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def wait_gone(proc, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    return proc.poll() is not None


def rmtree(path):
    if os.environ.get("QUAIL_KEEP") != "1":
        shutil.rmtree(path, ignore_errors=True)
