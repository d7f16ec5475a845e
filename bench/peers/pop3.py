"""pop3: quail's pop3d beside Dovecot (Debian's dovecot-pop3d) in `make bench-peers`.

The load is bench/pop3_load.py's, the same for both, in one run: a 2,000-message
download (4 KiB each, RETR one at a time, one poplib session) and the open of a
100,000-message maildrop (PASS to STAT's reply), first login and the median of three
later ones. Both check the same argon2id hash (quail's, from users.cdb; Dovecot's
ARGON2ID scheme reads the PHC string), so a login costs both the same password
check. Dovecot runs from its own config in the work dir (no /etc/dovecot), as root
with the mail as the bench's mailbox user; it is stopped at the end. Trusts apt/dpkg.
"""
import os
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True
_BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _BENCH)  # pop3_load
sys.path.insert(0, os.path.join(os.path.dirname(_BENCH), "tests", "e2e"))  # quailtest
import install  # noqa: E402
import pop3_load  # noqa: E402
import procs  # noqa: E402
import quailtest as qt  # noqa: E402

PACKAGES = ["dovecot-pop3d"]
DOMAIN = "bench.test"
READER = "reader@" + DOMAIN   # the download's maildrop
BULK = "bulk@" + DOMAIN       # the 100,000-message maildrop

CONF = """# written by quail bench/peers/pop3.py for one run
base_dir = @WORK@/run
state_dir = @WORK@/state
log_path = @WORK@/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = @USER@
default_login_user = @USER@
first_valid_uid = @UID@
mail_location = maildir:~/Maildir
pop3_uidl_format = %f
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = @PORT@
  }
}
passdb {
  driver = passwd-file
  args = @WORK@/passwd
}
userdb {
  driver = static
  args = uid=@UID@ gid=@GID@ home=@WORK@/home/%n
}
"""


def cdb_get(path, key):
    """The value of key in a cdb file, read in file order (djb's format), or None."""
    with open(path, "rb") as f:
        data = f.read()
    end = min(struct.unpack_from("<I", data, 8 * i)[0] for i in range(256))
    pos = 2048
    while pos < end:
        klen, dlen = struct.unpack_from("<II", data, pos)
        pos += 8
        if data[pos:pos + klen] == key:
            return data[pos + klen:pos + klen + dlen]
        pos += klen + dlen
    return None


class Dovecot:
    name = "dovecot"

    def __init__(self, work, port, user):
        self.dir = os.path.join(work, "dovecot")
        self.port = port
        self.user = user
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.version = subprocess.run(["dovecot", "--version"], capture_output=True, text=True).stdout.strip()

    def maildir(self, addr):
        return os.path.join(self.dir, "home", addr.split("@")[0], "Maildir")

    def start(self, hashes):
        import pwd
        pw = pwd.getpwnam(self.user)
        for d in ("run", "state", "home"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        text = CONF
        for k, v in {"WORK": self.dir, "USER": self.user, "UID": pw.pw_uid, "GID": pw.pw_gid, "PORT": self.port}.items():
            text = text.replace("@%s@" % k, str(v))
        with open(self.conf, "w") as f:
            f.write(text)
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            for addr, h in hashes.items():
                f.write("%s:{ARGON2ID}%s\n" % (addr, h))
        for addr in hashes:
            md = self.maildir(addr)
            for sub in ("new", "cur", "tmp"):
                os.makedirs(os.path.join(md, sub), exist_ok=True)
            for top, dirs, _ in os.walk(os.path.dirname(md)):
                os.chown(top, pw.pw_uid, pw.pw_gid)
        os.chown(os.path.join(self.dir, "home"), pw.pw_uid, pw.pw_gid)
        # The master daemonizes: its output goes to a file, not to pipes it would keep open.
        err = os.path.join(self.dir, "start.err")
        with open(err, "w") as f:
            r = subprocess.run(["dovecot", "-c", self.conf], stdin=subprocess.DEVNULL, stdout=f, stderr=f)
        if r.returncode != 0:
            raise RuntimeError("dovecot did not start: " + open(err).read().strip()[-2000:])
        deadline = time.monotonic() + 30
        while procs.listen_backlog(self.port) is None:
            if time.monotonic() > deadline:
                raise RuntimeError("dovecot does not listen on 127.0.0.1:%d; see %s/dovecot.log" % (self.port, self.dir))
            time.sleep(0.05)

    def own(self, addr):
        """Give the filled Maildir to the mailbox user, as a delivery would have."""
        import pwd
        pw = pwd.getpwnam(self.user)
        for top, dirs, files in os.walk(self.maildir(addr)):
            for n in dirs + files:
                os.chown(os.path.join(top, n), pw.pw_uid, pw.pw_gid)

    def stop(self):
        try:
            pid = int(open(os.path.join(self.dir, "run", "master.pid")).read().split()[0])
        except (OSError, ValueError, IndexError):
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 30
        while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
            time.sleep(0.05)


def measure(work, qt, user, say, messages=2000, big=100000, runs=3):
    """Runs the POP3 load against quail's pop3d and Dovecot, interleaved; a dict for
    the report (pop3 rows), or {"error": why}."""
    install.apt_install(PACKAGES)
    if shutil.which("dovecot") is None:
        return {"error": "dovecot is not installed"}
    out = {"messages": messages, "big": big, "runs": runs, "download": {}, "first": {}, "cached": {}}
    q = qt.Instance(root=os.path.join(work, "quail-pop3"))
    dove = Dovecot(work, qt.free_port(), user)
    out["version"] = dove.version
    try:
        q.init("mx." + DOMAIN, [DOMAIN])
        qport = qt.free_port()
        q.up(pop3="127.0.0.1:%d" % qport)
        hashes = {}
        for addr in (READER, BULK):
            q.add_user(addr, pop3_load.PASSWORD)
            hashes[addr] = cdb_get(q.path("users", "users.cdb"), addr.encode()).decode()
        dove.start(hashes)
        say("POP3: filling the maildrops (%d and %d messages, twice)" % (messages, big))
        ports = {"quail": qport, "dovecot": dove.port}
        dirs = {"quail": q.maildir, "dovecot": dove.maildir}
        for name in ports:
            pop3_load.fill(dirs[name](READER), messages, pop3_load.BODY)
            pop3_load.fill(dirs[name](BULK), big, pop3_load.SMALL)
        dove.own(READER)
        dove.own(BULK)
        order = list(ports)
        for name in order:  # the first login of each: the one that meets an unknown maildrop
            _, dt, count = pop3_load.login(ports[name], BULK)
            assert count == big, (name, count)
            out["first"][name] = dt
            say("POP3 open, first login: %-8s %.2f s" % (name, dt))
            settle(q, name)
        for r in range(runs):
            for name in order[r % 2:] + order[:r % 2]:  # the order rotates between runs
                rate, _ = pop3_load.download(ports[name], READER, messages)
                out["download"].setdefault(name, []).append(rate)
                p, dt, _ = pop3_load.login(ports[name], BULK)
                p.close()
                out["cached"].setdefault(name, []).append(dt)
                settle(q, name)
                say("POP3 run %d: %-8s %.0f msg/s, open %.2f s" % (r + 1, name, rate, dt))
    except Exception as e:  # noqa: BLE001 - the rest of bench-peers goes on
        out["error"] = str(e)
    finally:
        dove.stop()
        q.cleanup()
    return out


def settle(q, name):
    """Waits for quail's pop3d of the last session to end (its lock) before the next login."""
    if name != "quail":
        time.sleep(0.2)
        return
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and [x for x in qt.processes_under(q.root, "pop3d")
                                           if b"transaction" in qt._proc_read(x, "cmdline")]:
        time.sleep(0.05)


def markdown(p):
    """The report's POP3 section (lines)."""
    L = ["", "## POP3: quail's pop3d and Dovecot", ""]
    if p.get("error") and not p.get("download"):
        return L + ["Not measured: %s." % p["error"], ""]
    med = {k: {n: statistics.median(v) for n, v in p[k].items()} for k in ("download", "cached")}
    L += ["Dovecot %s (dovecot-pop3d), its own config in the work dir; the same load for both "
          "(bench/pop3_load.py), interleaved, the order rotating; %d runs; both check the same argon2id "
          "hash. Download: %d messages of 4 KiB, RETR one at a time, one poplib session. Open: PASS to "
          "STAT's reply on %d messages in Maildir/new named as local-deliver names them (,W=<wire size>), "
          "first login (quail reads the sizes from the names; Dovecot builds its index and moves new/ to "
          "cur/) and the median of the later logins."
          % (p.get("version", "?"), p["runs"], p["messages"], p["big"]), "",
          "| row | quail | dovecot | quail/dovecot |", "|---|---|---|---|"]

    def row(label, q, d, fmt, better_low):
        ratio = (d / q if better_low else q / d) if q and d else None
        L.append("| %s | %s | %s | %s |" % (label, fmt % q if q else "—", fmt % d if d else "—",
                                           "%.2fx" % ratio if ratio else "—"))
    row("download, msg/s", med["download"].get("quail"), med["download"].get("dovecot"), "%.0f", False)
    row("open %d messages, first login, s" % p["big"], p["first"].get("quail"), p["first"].get("dovecot"), "%.2f", True)
    row("open %d messages, later logins, s" % p["big"], med["cached"].get("quail"), med["cached"].get("dovecot"), "%.2f",
        True)
    L += ["", "quail/dovecot above 1 means quail is faster (rate ratio, or time ratio inverted)."]
    if p.get("error"):
        L.append("Error during the run: %s." % p["error"])
    return L + [""]


def main():
    """Only the POP3 comparison (root): `python3 bench/peers/pop3.py [--messages N] [--big N]`."""
    import argparse
    import tempfile
    ap = argparse.ArgumentParser(description="quail's pop3d beside Dovecot")
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--big", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("pop3.py: must run as root (installs dovecot-pop3d, runs it)")
    install.ensure_user(install.MAILBOX_USER, os.path.join(install.PRIVATE, "home"))
    work = tempfile.mkdtemp(prefix="quail-peers-pop3-", dir="/var/tmp")
    os.chmod(work, 0o755)
    try:
        res = measure(work, qt, install.MAILBOX_USER, lambda *m: print("bench-peers:", *m, flush=True),
                      a.messages, a.big, a.runs)
        print("\n".join(markdown(res)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
