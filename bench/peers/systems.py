"""systems: quail, Postfix, OpenSMTPD and smtp-sink as bench/peers runs them, each on its
own loopback port with its own directories under one work dir. Every class has the same
face: start(), stop(), roots(), clean(), delivered(), queued(), relay (None or the reason
it cannot relay). Trusts the templates beside this file and the programs it starts.
"""
import os
import shutil
import signal
import subprocess
import time

import procs

HERE = os.path.dirname(os.path.abspath(__file__))
DOMAIN = "bench.test"
USER = "u@" + DOMAIN
SPOOL = "/var/spool/smtpd"  # compiled into OpenSMTPD: one per machine


def fill(template, **values):
    with open(os.path.join(HERE, template)) as f:
        text = f.read()
    for k, v in values.items():
        text = text.replace("@%s@" % k, str(v))
    return text


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def count_files(top):
    n = 0
    for _, _, files in os.walk(top):
        n += len(files)
    return n


def wait_listening(port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if procs.listen_backlog(port) is not None:
            return
        time.sleep(0.05)
    raise RuntimeError("nothing listens on 127.0.0.1:%d after %d s" % (port, timeout))


def clear_maildir(maildir, spent):
    """Empty the Maildir by moving its files into `spent` (removed with the work dir at
    the end). Not unlinked: on ext4 without a journal every inode freed in the last
    minutes slows each later file creation (fs/ext4/ialloc.c, recently_deleted), so
    deleting 2,000 files here would charge the harness's cleanup to whichever system
    runs next."""
    os.makedirs(spent, exist_ok=True)
    for sub in ("new", "cur", "tmp"):
        d = os.path.join(maildir, sub)
        try:
            names = os.listdir(d)
        except FileNotFoundError:
            continue
        for n in names:
            clear_maildir.moved += 1
            os.rename(os.path.join(d, n), os.path.join(spent, "%d" % clear_maildir.moved))


clear_maildir.moved = 0


class System:
    name = "?"
    relay = "not configured"
    delivery = ()  # program names of the delivery side, told apart in durability.before_250
    port = 0

    def clean(self):
        clear_maildir(self.maildir, self.spent)

    def delivered(self):
        try:
            return len(os.listdir(os.path.join(self.maildir, "new")))
        except FileNotFoundError:
            return 0

    def tree(self):
        return procs.tree(self.roots())


class Quail(System):
    name = "quail"
    relay = None
    delivery = ("queue-send", "local-deliver", "local-spawn", "remote-deliver")

    def __init__(self, work, port, relay_port, qt):
        self.qt, self.port, self.relay_port = qt, port, relay_port
        self.q = qt.Instance(root=os.path.join(work, "quail"))
        self.maildir = self.q.maildir(USER)
        self.spent = os.path.join(work, "spent")
        self.version = procs.git_commit()
        self._roots = []
        if qt.missing("remote-deliver"):
            self.relay = "quail has no remote-deliver yet"

    def start(self):
        self.q.init("mx." + DOMAIN, [DOMAIN])
        self.q.add_user(USER, "bench-password-1")
        # Postfix exempts $mynetworks from its per-client limits; every session here
        # comes from 127.0.0.1, so the per-address limit is raised to the global one.
        self.q.write_control("concurrencyperip", "100\n")
        self.q.write_control("dnsservers", "127.0.0.1\n")  # no DNS query leaves loopback
        self.q.write_control("smtproutes", "relay.test:[127.0.0.1]:%d\n" % self.relay_port)  # an address, no lookup
        self.q.up(smtp="127.0.0.1:%d" % self.port)
        wait_listening(self.port)
        self._roots = self.qt.processes_under(self.q.root)

    def roots(self):
        return [p for p in self._roots if procs.alive(p)]

    def queued(self):
        return 0 if self.q.queue_empty() else 1

    def stop(self):
        self.q.cleanup()


class Postfix(System):
    name = "Postfix"
    relay = None
    delivery = ("qmgr", "virtual", "local", "smtp")

    def __init__(self, work, port, relay_port, uid, gid, version):
        self.dir = os.path.join(work, "postfix")
        self.port, self.relay_port, self.uid, self.gid = port, relay_port, uid, gid
        self.version = version
        self.maildir = os.path.join(self.dir, "mail", DOMAIN, "u", "Maildir")
        self.spent = os.path.join(work, "spent")
        self.started = False

    def postfix(self, *args, check=True):
        r = subprocess.run(["postfix", "-c", os.path.join(self.dir, "etc")] + list(args),
                           capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise RuntimeError("postfix %s failed: %s %s; see %s/postfix.log" %
                               (" ".join(args), r.stdout, r.stderr, self.dir))
        return r

    def start(self):
        for sub in ("etc", "queue", "data", "mail"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        os.chmod(self.dir, 0o755)
        shutil.chown(os.path.join(self.dir, "data"), "postfix")
        os.chown(os.path.join(self.dir, "mail"), self.uid, self.gid)
        etc = os.path.join(self.dir, "etc")
        v = dict(DIR=self.dir, UID=self.uid, GID=self.gid, PORT=self.port, RELAY_PORT=self.relay_port)
        write(os.path.join(etc, "main.cf"), fill("postfix-main.cf", **v))
        write(os.path.join(etc, "master.cf"), fill("postfix-master.cf", **v))
        write(os.path.join(etc, "vmailbox"), "%s %s/u/Maildir/\n" % (USER, DOMAIN))
        self.started = True
        self.postfix("start")
        wait_listening(self.port)

    def master_pid(self):
        try:
            with open(os.path.join(self.dir, "queue", "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def roots(self):
        pid = self.master_pid()
        return [pid] if pid and procs.alive(pid) else []

    def queued(self):
        q = os.path.join(self.dir, "queue")
        return sum(count_files(os.path.join(q, d)) for d in ("maildrop", "incoming", "active", "deferred", "hold"))

    def stop(self):
        if not self.started:
            return
        tree = self.tree()
        self.postfix("stop", check=False)
        procs.wait_gone(tree, 20)
        procs.kill_all(tree)


class OpenSMTPD(System):
    name = "OpenSMTPD"
    relay = None
    delivery = ("sh", "mail.maildir", "smtpd: scheduler")

    def __init__(self, work, port, relay_port, tree, version, user):
        self.dir = os.path.join(work, "opensmtpd")
        self.port, self.relay_port, self.version, self.user = port, relay_port, version, user
        self.smtpd = os.path.join(tree, "usr", "sbin", "smtpd")
        self.maildir = os.path.join(self.dir, "mail", DOMAIN, "u", "Maildir")
        self.spent = os.path.join(work, "spent")
        self.proc = None

    def start(self):
        # The spool is fixed at SPOOL and Debian's opensmtpd cannot be installed beside
        # postfix, so it holds only what an earlier bench run left: start from nothing.
        shutil.rmtree(SPOOL, ignore_errors=True)
        os.makedirs(os.path.join(self.dir, "mail"), exist_ok=True)
        os.chmod(self.dir, 0o755)
        shutil.chown(os.path.join(self.dir, "mail"), self.user, self.user)
        write(os.path.join(self.dir, "vusers"), "%s %s\n" % (USER, self.user))
        conf = os.path.join(self.dir, "smtpd.conf")
        write(conf, fill("smtpd.conf", DIR=self.dir, PORT=self.port, RELAY_PORT=self.relay_port, USER=self.user))
        log = open(os.path.join(self.dir, "smtpd.log"), "ab")
        # -d: foreground, log to stderr, so this process owns it and stop() ends it
        argv = [self.smtpd, "-d", "-f", conf]
        if self.private_resolv_conf():
            # OpenSMTPD's resolver asks DNS before /etc/hosts for every client address and
            # has no switch against it; in its own mount namespace resolv.conf says
            # "lookup file" (asr: /etc/hosts only), so nothing leaves loopback.
            argv = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                    'mount --bind "$0" /etc/resolv.conf && exec "$@"', self.resolv] + argv
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        wait_listening(self.port)

    def private_resolv_conf(self):
        """Write the hosts-only resolv.conf; True when a private mount namespace works here."""
        self.resolv = os.path.join(self.dir, "resolv.conf")
        write(self.resolv, "# OpenSMTPD in bench/peers: /etc/hosts only, never DNS\nnameserver 127.0.0.1\nlookup file\n")
        r = subprocess.run(["unshare", "-m", "--propagation", "private", "mount", "--bind", self.resolv,
                            "/etc/resolv.conf"], capture_output=True, timeout=30)
        self.dns_note = None if r.returncode == 0 else "no private mount namespace: OpenSMTPD may ask DNS"
        return r.returncode == 0

    def roots(self):
        return [self.proc.pid] if self.proc and self.proc.poll() is None else []

    def queued(self):
        return sum(count_files(os.path.join(SPOOL, d)) for d in ("incoming", "queue"))

    def stop(self):
        if not self.proc:
            return
        tree = self.tree()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                pass
        procs.wait_gone(tree, 10)
        procs.kill_all(tree)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        shutil.rmtree(SPOOL, ignore_errors=True)


class Sink(System):
    """smtp-sink answering everything without touching the disk: the exchange's upper bound."""
    name = "smtp-sink"
    relay = "a sink delivers nothing"
    maildir = None
    version = "Postfix's smtp-sink"

    def __init__(self, port):
        self.port, self.proc = port, None

    def start(self):
        self.proc = subprocess.Popen(["smtp-sink", "-u", "nobody", "127.0.0.1:%d" % self.port, "1024"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_listening(self.port)

    def roots(self):
        return [self.proc.pid] if self.proc and self.proc.poll() is None else []

    def clean(self):
        pass

    def delivered(self):
        return 0

    def queued(self):
        return 0

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
