"""attack_lib: the bookkeeping and the small tools of quail's attack sets (issue 18).

An attack set is a function set_fn(ctx, tally, full) that makes tries; each try
checks one outcome a user would notice (a second message in the queue, a command
obeyed that was injected, a recipient at a foreign domain queued, a header that
appears, a program that hangs or dies, a password accepted while locked) and
records it with tally.record(set, name, success, detail). A success is a bug.
`full` False is the bounded subset `make check` runs (82-attacks/test_attacks.py);
True is the complete set of tests/long/attacks.py.
"""
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

import quailtest as qt

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "50-smtpd"))
import smtpd_harness as sh  # noqa: E402  (the socketpair smtpd session and roots)

DOMAIN = sh.DOMAIN
ALICE, BOB = sh.USERS
PASSWORD = "secret-password"
OUTSIDER = "192.0.2.77"  # a client address with no relay rights and no PLAINTEXTLOGIN


class Tally:
    """Tries and successes per attack set; the successes with what happened."""

    def __init__(self):
        self.sets = {}      # name -> [tries, successes]
        self.found = []     # (set, try name, detail) of every success
        self.notes = {}     # set -> [text]: figures beside the counts (times, sizes)
        self.lock = threading.Lock()

    def record(self, set_name, name, success, detail=""):
        with self.lock:
            row = self.sets.setdefault(set_name, [0, 0])
            row[0] += 1
            if success:
                row[1] += 1
                self.found.append((set_name, name, detail))

    def note(self, set_name, text):
        with self.lock:
            self.notes.setdefault(set_name, []).append(text)

    def line(self, set_name):
        tries, wins = self.sets.get(set_name, [0, 0])
        extra = "; ".join(self.notes.get(set_name, []))
        return "%s: tries %d, successes %d%s" % (set_name, tries, wins, (" (" + extra + ")") if extra else "")

    def successes(self, set_name=None):
        return [f for f in self.found if set_name is None or f[0] == set_name]


class Workdir:
    """A scratch directory holding one template root (quail init and two users);
    fresh() copies it for one try. cleanup() removes everything."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="quail-attacks-")
        self.n = 0
        qt.register_cleanup(self)

    def fresh(self, rcpthosts=DOMAIN):
        self.n += 1
        d = os.path.join(self.dir, "t%d" % self.n)
        os.makedirs(d)
        root = sh.make_root(d)
        sh.write_control(root, "rcpthosts", rcpthosts)
        return root

    def cleanup(self):
        qt.unregister_cleanup(self)
        sh.rmtree(self.dir)


def session(root, remote_ip=OUTSIDER, env=None):
    """smtpd on a socketpair as if reached from remote_ip (no rules apply)."""
    return sh.Session(root, env=env, remote_ip=remote_ip)


def queued(root):
    """[(message bytes, envelope dict)] of every message in ROOT/queue/todo."""
    return [(m, e) for _, m, e in sh.queue_files(root)]


def client_tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def make_cert(directory, cn="peer.test"):
    """A self-signed certificate for a hostile peer: (server context, cert path)."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-days", "2", "-subj", "/CN=" + cn, "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx, cert


def recv_until(sock, marker, timeout=10.0, limit=1 << 20):
    """Bytes read from sock until `marker` is among them (or EOF, timeout, limit)."""
    data = bytearray()
    deadline = time.monotonic() + timeout
    while len(data) < limit:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(262144)
        except (socket.timeout, ssl.SSLError, OSError):
            break
        if not chunk:
            break
        seen = len(data)
        data += chunk
        if data.find(marker, max(0, seen - len(marker))) >= 0:  # only the new tail: linear
            break
    return bytes(data)


def quiet(sock, seconds):
    """True when nothing arrives on sock for `seconds` (EOF counts as quiet)."""
    sock.settimeout(seconds)
    try:
        return sock.recv(65536) == b""
    except (socket.timeout, ssl.SSLWantReadError):
        return True
    except (ssl.SSLError, OSError):
        return True


class HostilePeer:
    """A one-thread SMTP 'server' on 127.0.0.1 that runs script(conn, record) for
    each connection it accepts; record (a dict) is what the script saw, one per
    connection, in self.records."""

    def __init__(self, script):
        self.script = script
        self.records = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            rec = {}
            self.records.append(rec)
            threading.Thread(target=self._serve, args=(conn, rec), daemon=True).start()

    def _serve(self, conn, rec):
        try:
            self.script(conn, rec)
        except Exception as e:  # noqa: BLE001 - a hostile script ends however it ends
            rec.setdefault("error", repr(e))
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def stop(self):
        self.stopped = True
        try:
            self.sock.close()
        except OSError:
            pass
