"""quailtest: shared helpers for quail's end-to-end tests (python stdlib only).

A test module does `import quailtest as qt` (run.py puts tests/e2e/ on sys.path),
calls `qt.require("sendmail", "queue-send", ...)` at the top to skip with an explicit
reason when a program is not built yet, and drives a fresh root through `qt.Instance`:

    with qt.Instance() as q:           # a new temp root; down() and cleanup always run
        q.init("mx.example.test", ["example.test"])
        q.add_user("alice@example.test", "secret")
        q.up(env={"QUAIL_RETRY_SCALE": "100"})
        q.sendmail(["alice@example.test"], qt.make_message(1))
        qt.wait_for(lambda: q.maildir_messages("alice@example.test"), 30, "delivery")

Every wait is bounded; every process started under a root is stopped when the
Instance is cleaned up, also when run.py kills the module with SIGTERM on timeout.
Environment: QUAIL_BIN (default <repo>/build/bin), QUAIL_KEEP=1 keeps temp roots,
QUAIL_TMPDIR (default /tmp) is where an Instance makes its temp directory: the
benchmarks that use Instance (bench/conn_cost.py, `make bench`) measure on a
journaled filesystem mounted there rather than on a root filesystem without a
journal, whose inode rule skews them (bench/README.md, "What the directory
fsyncs cost").
"""
import atexit
import concurrent.futures
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.abspath(os.environ.get("QUAIL_BIN", os.path.join(REPO, "build", "bin")))

TRACE_HEADERS = ("received", "return-path", "delivered-to")
NOTES = []  # note(): text run.py appends to the current test's result line


def note(text):
    """Attach a short figure or finding to the current test's line in run.py's output."""
    NOTES.append(str(text))


# ---------------------------------------------------------------- programs

# ---------------------------------------------------------------- message ids

def message_id(inode, birth_ns):
    """A message's id as queue-layout/README.md ("Message ids") makes it: the birth
    in 12 base-36 digits, then the inode in decimal."""
    digits, b, out = "0123456789abcdefghijklmnopqrstuvwxyz", int(birth_ns), ""
    for _ in range(12):
        out = digits[b % 36] + out
        b //= 36
    return out + str(int(inode))


def inode_of(msg_id):
    """The queue file name (inode) inside a message id."""
    return msg_id[12:]


def queue_file_id(path):
    """The message id of the queue file at `path` (its inode and header birth)."""
    with open(path, "rb") as f:
        birth = int(f.read(56).split()[3])
        return message_id(os.fstat(f.fileno()).st_ino, birth)


def bin_path(name):
    """Absolute path of program `name` in BIN (whether or not it exists)."""
    return os.path.join(BIN, name)


def missing(*names):
    """The programs among `names` that are not executable files in BIN."""
    return [n for n in names if not os.access(bin_path(n), os.X_OK)]


_SANITIZED = []


def sanitizer_build():
    """True when BIN holds a sanitizer build (make e2e-asan): its programs are
    dynamic and several times larger, so size and static-link checks do not apply."""
    if not _SANITIZED:
        try:
            with open(bin_path("quail"), "rb") as f:
                _SANITIZED.append(b"__asan_init" in f.read())
        except OSError:
            _SANITIZED.append(False)
    return _SANITIZED[0]


def require(*names):
    """Skip the calling module/test (unittest.SkipTest) when a program is missing."""
    gone = missing(*names)
    if gone:
        raise unittest.SkipTest("program(s) not built: %s (looked in %s)" % (", ".join(gone), BIN))


# ---------------------------------------------------------------- small tools

def free_port(host="127.0.0.1"):
    """A TCP port that was free on `host` a moment ago (bind port 0, read, close)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def recv_line(sock):
    """Bytes from sock up to and including the first LF (fewer at end of file)."""
    out = b""
    while not out.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        out += chunk
    return out


class Outcomes:
    """What one-message SMTP connections under a load got: accepted (250), refused
    (4xx, or the connection failed: not acknowledged), errors (5xx), by number."""

    def __init__(self):
        self.accepted, self.refused, self.errors = [], [], []

    def send(self, port, n, send, timeout=60):
        """One connection to 127.0.0.1:port; send(client, n) sends message n."""
        import smtplib
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=timeout) as c:
                send(c, n)
            self.accepted.append(n)
        except smtplib.SMTPResponseException as e:
            (self.refused if 400 <= e.smtp_code < 500 else self.errors).append((n, e.smtp_code))
        except (smtplib.SMTPException, OSError) as e:
            self.refused.append((n, repr(e)))


def wait_for(predicate, timeout=30.0, what="condition", interval=0.02):
    """Poll predicate() until it returns a truthy value (returned) or `timeout`
    seconds pass (AssertionError naming `what`). The interval grows to 0.25 s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(interval)
        interval = min(interval * 1.5, 0.25)


_LOGFMT_TOKEN = re.compile(r'\s*([^\s=]+)(?:=("(?:[^"\\]|\\.)*"|\S*))?')


def _unquote(v):
    if not (len(v) >= 2 and v[0] == '"' and v[-1] == '"'):
        return v
    out, i, body = [], 0, v[1:-1]
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            n = body[i + 1]
            if n == "x" and i + 3 < len(body) + 1:
                try:
                    out.append(chr(int(body[i + 2:i + 4], 16)))
                    i += 4
                    continue
                except ValueError:
                    pass
            out.append(n)
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def parse_logfmt(line):
    """One logfmt line -> dict (a bare key maps to ""; later keys win)."""
    d = {}
    for m in _LOGFMT_TOKEN.finditer(line.rstrip("\n")):
        d[m.group(1)] = _unquote(m.group(2) or "")
    return d


def split_message(data):
    """(header bytes including the final line end, separator, body) of a message."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = data.find(sep)
        if i >= 0:
            nl = sep[: len(sep) // 2]
            return data[: i + len(nl)], nl, data[i + len(sep):]
    return data, b"", b""


def header_fields(data):
    """The header fields of a message as a list of (lowercased name, raw bytes incl.
    continuation lines)."""
    head, _, _ = split_message(data)
    fields = []
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + line)
        else:
            name = line.split(b":", 1)[0].strip().lower().decode("latin-1")
            fields.append((name, line))
    return fields


def strip_trace(data, names=TRACE_HEADERS):
    """The message without the trace fields quail adds (Received:, Return-Path:,
    Delivered-To:, or `names`), for byte comparisons. Apply it to both sides."""
    head, nl, body = split_message(data)
    kept = b"".join(raw for name, raw in header_fields(data) if name not in names)
    if not nl:
        return kept
    return kept + nl + body


def header(data, name):
    """Values (bytes, unfolded and stripped) of header field `name` in a message."""
    out = []
    for n, raw in header_fields(data):
        if n == name.lower():
            out.append(re.sub(rb"\r?\n[ \t]+", b" ", raw.split(b":", 1)[1]).strip())
    return out


def make_message(n, to="alice@example.test", sender="bob@example.test", body=None, size=None,
                 subject=None, extra=b""):
    """A complete message (LF line ends) numbered n: From, To, Date, Message-ID,
    Subject and X-Quail-Test: n, so sendmail has nothing to add. `size` pads the
    body to about that many bytes."""
    if body is None:
        body = b"message number %d\n" % n
        if size:
            line = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxy\n"
            if len(body) < size:
                body += line * ((size - len(body) + len(line) - 1) // len(line))
    subj = subject if subject is not None else "test %d" % n
    head = (b"From: <%s>\nTo: <%s>\nDate: Thu, 01 Jan 2026 00:00:00 +0000\n"
            b"Message-ID: <test-%d@quail.test>\nSubject: %s\nX-Quail-Test: %d\n" %
            (sender.encode(), to.encode(), n, subj.encode(), n))
    return head + extra + b"\n" + body


def test_number(data):
    """The X-Quail-Test number of a message made by make_message, or None."""
    v = header(data, "X-Quail-Test")
    return int(v[0]) if v else None


def envelope(sender, *recipients):
    """The queue-inject envelope bytes for sender and recipients."""
    return b"F" + sender.encode() + b"\0" + b"".join(b"T" + r.encode() + b"\0" for r in recipients) + b"\0"


def run_with_envelope(argv, message, env_bytes, env=None, timeout=60, preexec_fn=None):
    """Run a qmail-queue-protocol program: message on fd 0, envelope on fd 1.
    Returns (exit code, stderr text)."""
    r, w = os.pipe()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=r, stderr=subprocess.PIPE, env=env,
                         preexec_fn=preexec_fn)
    os.close(r)

    def feed():  # the envelope may be larger than a pipe buffer
        try:
            _write_all(w, env_bytes)
        except OSError:
            pass
        finally:
            os.close(w)
    t = threading.Thread(target=feed, daemon=True)
    t.start()
    try:
        _, err = p.communicate(message, timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        raise
    finally:
        t.join(5)
    return p.returncode, err.decode("utf-8", "replace")


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def run_parallel(fn, items, concurrency=8):
    """[fn(item) for item in items], `concurrency` at a time (threads), in order."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as ex:
        return list(ex.map(fn, items))


@contextlib.contextmanager
def tmpfs(path, size="1m"):
    """Mount a tmpfs of `size` at path (created); unmounted (lazily if busy) on exit.
    Raises unittest.SkipTest with the reason when mounting is not possible."""
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", path],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise unittest.SkipTest("cannot mount a tmpfs at %s (need root/CAP_SYS_ADMIN): %s" %
                                (path, (r.stderr or r.stdout).strip()))
    try:
        yield path
    finally:
        if subprocess.run(["umount", path], capture_output=True, timeout=30).returncode != 0:
            subprocess.run(["umount", "-l", path], capture_output=True, timeout=30)


def fill_disk(directory, name="filler"):
    """Fill the filesystem holding `directory` with one file; return its path."""
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for chunk in (b"\0" * 65536, b"\0" * 512):
            while True:
                try:
                    os.write(fd, chunk)
                except OSError:
                    break
    finally:
        os.close(fd)
    return path


# ---------------------------------------------------------------- processes

def _proc_read(pid, what):
    try:
        with open("/proc/%d/%s" % (pid, what), "rb") as f:
            return f.read()
    except OSError:
        return b""


def processes_under(root, name=None):
    """Pids of live processes that belong to `root` (QUAIL_ROOT in their environment
    or root in their argv), optionally only those running program `name`."""
    me = os.getpid()
    out = []
    rb = root.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        pid = int(entry)
        argv = _proc_read(pid, "cmdline").split(b"\0")
        if not argv or not argv[0]:
            continue
        if name is not None and os.path.basename(argv[0].decode("latin-1")) != name:
            try:
                exe = os.readlink("/proc/%d/exe" % pid)
            except OSError:
                continue
            if os.path.basename(exe) != name:
                continue
        # tcpserver -F's fork server ("smtpd-forks") runs smtpd's program but is no session.
        if name is not None and _proc_read(pid, "comm").strip() == (name + "-forks").encode()[:15]:
            continue
        environ = _proc_read(pid, "environ").split(b"\0")
        if b"QUAIL_ROOT=" + rb in environ or any(a == rb or a.startswith(rb + b"/") or a == b"--root=" + rb
                                                for a in argv):
            state = _proc_read(pid, "stat").split(b")")[-1].split()
            if state and state[0] == b"Z":
                continue
            out.append(pid)
    return sorted(out)


def comm(pid):
    """The process's name (what ps shows; "smtpd-forks" for a fork server)."""
    return _proc_read(pid, "comm").strip()


def parent_of(pid):
    return int(_proc_read(pid, "stat").split(b")")[-1].split()[1])


def process_named(root, name):
    """The first process of `root` whose comm is `name` (b"tlsd-forks"), or None."""
    for pid in processes_under(root):
        if comm(pid) == name:
            return pid
    return None


def other_uid_can_connect(path):
    """Whether uid/gid 65534 (nobody) can connect to the Unix socket at path
    (root only): (connected, its stderr)."""
    r = subprocess.run([sys.executable, "-c", "import socket, sys\n"
                        "s = socket.socket(socket.AF_UNIX)\n"
                        "s.connect(sys.argv[1])\n", path],
                       preexec_fn=lambda: (os.setgroups([]), os.setgid(65534), os.setuid(65534)),
                       capture_output=True, text=True, timeout=30)
    return r.returncode == 0, r.stderr


def closed_by_peer(sock):
    """Waits (20 s at most) for the peer to close sock: EOF or a reset."""
    sock.settimeout(20)
    try:
        return sock.recv(100) == b""
    except ConnectionResetError:
        return True


def unix_backlog(path):
    """Server ends of connections to the Unix socket at path, its listener aside
    (/proc/net/unix lists them under its path, without the listening flag
    0x10000): with the server stopped, the callers waiting in its backlog."""
    with open("/proc/net/unix") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return sum(1 for r in rows if len(r) >= 8 and r[7] == path and not int(r[3], 16) & 0x10000)


def kill_repeatedly(find_pid, until, pause=0.4):
    """SIGKILL whatever find_pid() names, again and again until the monotonic
    time `until` (a restarted one included); how many kills."""
    kills = 0
    while time.monotonic() < until:
        pid = find_pid()
        if pid:
            os.kill(pid, signal.SIGKILL)
            kills += 1
        time.sleep(pause)
    return kills


def rss_kib(pid):
    """VmRSS of a process in KiB (None when gone)."""
    for line in _proc_read(pid, "status").decode("latin-1").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


# ---------------------------------------------------------------- an instance

_LIVE = set()
_LIVE_LOCK = threading.Lock()


def _cleanup_all(*_):
    with _LIVE_LOCK:
        live = list(_LIVE)
    for inst in live:
        try:
            inst.cleanup()
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def assert_no_sanitizer_report(log_file, whose):
    """Fails when a sanitizer build reported into log_file (an open binary file
    that a program under test had as fd 2); whose names it in the message."""
    log_file.seek(0)
    text = log_file.read().decode("utf-8", "replace")
    for marker in SANITIZER_MARKERS:
        assert marker not in text, "sanitizer report in %s:\n%s" % (whose, text[-4000:])


def register_cleanup(obj):
    """Have obj.cleanup() run with every live Instance's when the run is
    interrupted (SIGTERM, SIGINT): for scratch resources a test or bench makes."""
    with _LIVE_LOCK:
        _LIVE.add(obj)


def unregister_cleanup(obj):
    with _LIVE_LOCK:
        _LIVE.discard(obj)


def _on_signal(signum, _frame):
    _cleanup_all()
    os._exit(128 + signum)


atexit.register(_cleanup_all)
if threading.current_thread() is threading.main_thread():
    for _sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(_sig, _on_signal)


class CommandError(AssertionError):
    pass


class Instance:
    """One quail root in a fresh temp directory. Use as a context manager or call
    cleanup() (idempotent) in a finally / addCleanup."""

    def __init__(self, root=None, prefix="quail-e2e-"):
        if root is None:
            self.tmp = tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("QUAIL_TMPDIR") or "/tmp")
            root = os.path.join(self.tmp, "root")  # not created: init makes it
        else:
            self.tmp = None
        self.root = os.path.abspath(root)
        self.started = False
        self.cleaned = False
        with _LIVE_LOCK:
            _LIVE.add(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False

    # -- running programs
    def env(self, extra=None):
        e = dict(os.environ)
        e["QUAIL_ROOT"] = self.root
        if extra:
            e.update({k: str(v) for k, v in extra.items()})
        return e

    def run(self, argv, input=None, env=None, check=True, timeout=120):
        """Run argv (argv[0] a program name in BIN or a path) with QUAIL_ROOT set.
        check=True raises CommandError with the output when the exit code is not 0."""
        argv = list(argv)
        if "/" not in argv[0]:
            argv[0] = bin_path(argv[0])
        if isinstance(input, str):
            input = input.encode()
        r = subprocess.run(argv, input=input, capture_output=True, env=self.env(env), timeout=timeout)
        r.out = r.stdout.decode("utf-8", "replace")
        r.err = r.stderr.decode("utf-8", "replace")
        if check and r.returncode != 0:
            raise CommandError("%s exited %d\nstdout: %s\nstderr: %s" %
                               (" ".join(argv), r.returncode, r.out.strip(), r.err.strip()))
        return r

    def quail(self, *args, input=None, env=None, check=True, timeout=120):
        """`quail --root ROOT args...`"""
        return self.run(["quail", "--root", self.root] + list(args), input=input, env=env, check=check,
                        timeout=timeout)

    def init(self, hostname="mx.example.test", domains=("example.test",), extra=()):
        args = ["init", "--hostname", hostname]
        for d in domains:
            args += ["--domain", d]
        r = self.quail(*(args + list(extra)))
        # No SPF/DMARC checks unless a test turns them on (67-mailauth): they would
        # ask the machine's resolver, and tests ask only their own DNS servers.
        if os.path.isdir(self.path("control")):
            self.write_control("authcheck", "0\n")
        return r

    def add_user(self, addr, password="secret-password"):
        r = self.quail("user", "add", addr, input=password + "\n")
        os.makedirs(self.home(addr), exist_ok=True)  # no-op when user add made it
        return r

    def up(self, env=None, check=True, timeout=60, **listeners):
        """`quail up` with --<name> <value> for each listener (smtp="127.0.0.1:2525").
        `env` is passed to quail up (and so to the services: QUAIL_RETRY_SCALE...)."""
        args = ["up"]
        for k, v in listeners.items():
            if v is not None:
                args += ["--" + k.replace("_", "-"), str(v)]
        self.started = True
        return self.quail(*args, env=env, check=check, timeout=timeout)

    def down(self, check=False):
        r = None
        if os.path.isdir(self.root) and os.access(bin_path("quail"), os.X_OK):
            try:
                r = self.quail("down", check=check, timeout=60)
            except subprocess.TimeoutExpired:
                r = None
        self.kill_all()
        return r

    def kill_all(self):
        """SIGKILL whatever still runs under this root (a safety net after down)."""
        for _ in range(3):
            pids = processes_under(self.root)
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)

    def check(self, repair=False):
        """`quail check [--repair]` (CompletedProcess; exit 0 clean, 1 problems)."""
        return self.quail(*(["check", "--repair"] if repair else ["check"]), check=False)

    def sendmail(self, args, data, env=None, timeout=60, check=False):
        """Run sendmail args with `data` on stdin; returns the CompletedProcess."""
        return self.run(["sendmail"] + list(args), input=data, env=env, check=check, timeout=timeout)

    def queue_inject(self, message, env_bytes, env=None, timeout=60):
        """(exit code, stderr) of queue-inject with message on fd 0, envelope on fd 1."""
        return run_with_envelope([bin_path("queue-inject")], message, env_bytes, env=self.env(env), timeout=timeout)

    def cleanup(self):
        if self.cleaned:
            return
        self.cleaned = True
        try:
            self.down()
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(self)
            # a root passed in by the caller is the caller's to remove
            if self.tmp and os.environ.get("QUAIL_KEEP") != "1":
                shutil.rmtree(self.tmp, ignore_errors=True)

    # -- paths and contents
    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def write_control(self, name, value):
        p = self.path("control", name)
        with open(p, "w") as f:
            f.write(value)
        return p

    def home(self, addr):
        """ROOT/mail/<domain>/<user>/ of a virtual address (extension stripped)."""
        local, domain = addr.rsplit("@", 1)
        return self.path("mail", domain.lower(), local.split("-", 1)[0].lower())

    def maildir(self, addr, folder="Maildir"):
        return os.path.join(self.home(addr), folder)

    def maildir_files(self, addr, folder="Maildir", subdirs=("new", "cur")):
        out = []
        for sub in subdirs:
            d = os.path.join(self.maildir(addr, folder), sub)
            try:
                out += [os.path.join(d, n) for n in sorted(os.listdir(d))]
            except FileNotFoundError:
                pass
        return out

    def maildir_count(self, addr, folder="Maildir", subdirs=("new",)):
        return len(self.maildir_files(addr, folder, subdirs))

    def maildir_messages(self, addr, folder="Maildir", subdirs=("new", "cur")):
        """Contents (bytes) of every message in the Maildir, sorted by file name."""
        out = []
        for p in self.maildir_files(addr, folder, subdirs):
            with open(p, "rb") as f:
                out.append(f.read())
        return out

    def maildir_heads(self, addr, folder="Maildir", subdirs=("new", "cur"), limit=8192, cache=None):
        """{path: first `limit` bytes} of every message in the Maildir: enough for the
        header, cheap for big messages. `cache` (a dict) skips files read before."""
        cache = {} if cache is None else cache
        for p in self.maildir_files(addr, folder, subdirs):
            if p not in cache:
                with open(p, "rb") as f:
                    cache[p] = f.read(limit)
        return cache

    def queue_entries(self, sub):
        """Names in ROOT/queue/<sub> (todo, mess, tmp, stat)."""
        try:
            return sorted(os.listdir(self.path("queue", sub)))
        except FileNotFoundError:
            return []

    def queue_empty(self):
        return not any(self.queue_entries(s) for s in ("todo", "mess", "stat"))

    def log_lines(self, service=None):
        """Parsed logfmt lines of ROOT/log/<service>.log (all logs when None)."""
        d = self.path("log")
        out = []
        try:
            names = sorted(os.listdir(d))
        except FileNotFoundError:
            return out
        for n in names:
            if service is not None and n != service + ".log":
                continue
            with open(os.path.join(d, n), "r", errors="replace") as f:
                for line in f:
                    if line.strip():
                        rec = parse_logfmt(line)
                        rec["_file"] = n
                        rec["_line"] = line.rstrip("\n")
                        out.append(rec)
        return out

    def pids(self, name):
        """Live pids of program `name` running under this root."""
        return processes_under(self.root, name)


class TemplateRoot:
    """A root made once per test class (`quail init` and users: user add hashes
    slowly on purpose) that each test copies: copy(test) gives a fresh Instance,
    removed when the test ends."""

    def __init__(self, prefix, hostname, domains, users=()):
        self.prefix = prefix
        self.q = Instance(prefix=prefix)
        self.q.init(hostname, list(domains))
        for u in users:
            self.q.add_user(u)

    def copy(self, test, root=None):
        q = Instance(prefix=self.prefix)
        test.addCleanup(q.cleanup)
        subprocess.run(["cp", "-a", self.q.root, root or q.root], check=True, timeout=60)
        if root:
            q.root = root
        return q

    def cleanup(self):
        self.q.cleanup()


def add_login(name, reachable=None):
    """A throwaway system login (root only): removed first if a crashed run left it.
    With `reachable` (a program in BIN), raises unittest.SkipTest unless the login
    can run it (the build tree may sit under a directory it cannot enter).
    Returns its pwd entry; remove_login(name) undoes it."""
    import pwd
    import unittest
    remove_login(name)
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", name], check=True, capture_output=True)
    if reachable:
        probe = subprocess.run(["su", "-s", "/bin/sh", name, "-c", "test -x " + bin_path(reachable)])
        if probe.returncode != 0:
            remove_login(name)
            raise unittest.SkipTest("the build tree %s is not reachable by an ordinary login" % bin_path(""))
    return pwd.getpwnam(name)


def remove_login(name):
    subprocess.run(["userdel", "-r", name], capture_output=True)


def edit_passwd(change):
    """Replaces /etc/passwd (root only) by change(its current bytes), as useradd
    does: holding lckpwdf(3)'s lock, which useradd, userdel and vipw take too, and
    by rename, so no edit of theirs made meanwhile is lost and no reader sees half
    a file. Rewriting a copy saved earlier would undo the logins others added."""
    import ctypes
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    if libc.lckpwdf() != 0:
        raise OSError(ctypes.get_errno(), "lckpwdf: /etc/.pwd.lock not taken in 15 s")
    try:
        with open("/etc/passwd", "rb") as f:
            text = f.read()
        st = os.stat("/etc/passwd")
        tmp = "/etc/passwd.quailtest"
        with open(tmp, "wb") as f:
            f.write(change(text))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, st.st_mode & 0o7777)
        os.chown(tmp, st.st_uid, st.st_gid)
        os.rename(tmp, "/etc/passwd")
    finally:
        libc.ulckpwdf()


def start_dnsmasq_txt(records, ip="127.0.0.1", port=None, extra=()):
    """A dnsmasq in the foreground on ip:port (a free port when None) serving only
    the TXT records {name: text} (split into strings of 250 bytes; no commas), and
    what extra dnsmasq options add (--address=/name/127.0.0.2), for the
    mail-authentication and DNS list tests and bench; returns (process, port) once
    a query for the first TXT name is answered. The caller terminates it."""
    import struct
    port = port or free_port(ip)
    args = ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
            "--listen-address=" + ip, "--bind-interfaces", "--port=%d" % port, "--local=/test/",
            "--log-facility=-", "--user=root", "--pid-file="]
    for name, text in records.items():
        chunks = [text[i:i + 250] for i in range(0, len(text), 250)]
        args.append("--txt-record=%s,%s" % (name, ",".join(chunks)))  # no shell: quotes would stay
    args += list(extra)
    log = tempfile.TemporaryFile()
    p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    probe = next(iter(records))
    query = struct.pack(">HHHHHH", 0x7174, 0x0100, 1, 0, 0, 0)
    query += b"".join(bytes([len(x)]) + x.encode() for x in probe.split(".")) + b"\0" + struct.pack(">HH", 16, 1)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and p.poll() is None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.5)
            try:
                s.sendto(query, (ip, port))
                reply = s.recv(4096)
                if reply[:2] == query[:2] and struct.unpack(">H", reply[6:8])[0] > 0:
                    return p, port
            except OSError:
                pass
        time.sleep(0.1)
    p.kill()
    p.wait()
    log.seek(0)
    raise AssertionError("dnsmasq did not start: " + log.read().decode(errors="replace")[-500:])


class SmtpWithDns(unittest.TestCase):
    """A test class's one instance listening for SMTP, beside a dnsmasq that
    serves its DNS (control/dnsservers points there). Subclasses set RECORDS
    (TXT records for start_dnsmasq_txt), DNS_EXTRA (its extra options), INIT
    (quail init's extra arguments), USERS, CONTROLS ((name, value) pairs) and
    HOST (the listener's address, "::1" for IPv6); cls.q, cls.port and
    cls.dns_port follow. ROOT's parent is 0755, so another uid reaches run/ and
    only a socket's own mode keeps it out."""
    RECORDS, DNS_EXTRA, INIT, USERS, CONTROLS, HOST = {}, (), (), (), (), "127.0.0.1"

    @classmethod
    def setUpClass(cls):
        cls.q = cls.dns = None
        try:
            cls.dns, cls.dns_port = start_dnsmasq_txt(cls.RECORDS, extra=cls.DNS_EXTRA)
            cls.q = Instance()
            os.chmod(cls.q.tmp, 0o755)
            cls.q.init("mx.example.test", ["example.test"], extra=cls.INIT)
            for user in cls.USERS:
                cls.q.add_user(user)
            for name, value in (("dnsservers", "127.0.0.1@%d" % cls.dns_port),) + tuple(cls.CONTROLS):
                cls.q.write_control(name, "%s\n" % value)
            cls.port = free_port(cls.HOST)
            cls.q.up(smtp=("[%s]:%d" if ":" in cls.HOST else "%s:%d") % (cls.HOST, cls.port))
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.q:
            cls.q.cleanup()
        if cls.dns:
            cls.dns.terminate()
            cls.dns.wait(10)
