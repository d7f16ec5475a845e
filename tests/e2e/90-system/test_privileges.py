"""The privilege audit of a --system instance (issue 18): which uid runs what, and
what each uid can write and read under ROOT, measured on a live instance as that
uid (its groups included) and compared with the tables of
queue-layout/privileges.md, which this test parses, so the page cannot drift.
Needs root (CI runs as root); makes no login (the quail-* users and nobody)."""
import errno
import fnmatch
import grp
import json
import os
import poplib
import pwd
import re
import smtplib
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import quailtest as qt  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "65-remote"))
from smtp_peer import Peer  # noqa: E402

DOC = os.path.join(qt.REPO, "queue-layout", "privileges.md")


def doc_table(heading):
    """The rows of the markdown table under `heading` in DOC: per row, the
    backquoted words of each cell."""
    with open(DOC) as f:
        text = f.read()
    part = text.split("\n## " + heading + "\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in part.splitlines():
        if not line.startswith("|") or set(line) <= set("|- "):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows.append([re.findall(r"`([^`]+)`", c) for c in cells])
    return rows[1:]  # the header row has no backquotes worth keeping


def proc_ids(pid):
    """(uid, gid, groups, CapEff) of a live process."""
    f = {}
    for line in qt._proc_read(pid, "status").decode().splitlines():
        k, _, v = line.partition(":")
        f[k] = v.split()
    return int(f["Uid"][1]), int(f["Gid"][1]), sorted(int(g) for g in f.get("Groups", [])), int(f["CapEff"][0], 16)


def login_ids(name, gid=None, groups=None):
    """The ids a program running as `name` gets: its own gid and supplementary
    groups (lib/identity's become), or, for a set-uid program, its caller's."""
    pw = pwd.getpwnam(name)
    if gid is None:
        gid = pw.pw_gid
        groups = sorted({pw.pw_gid} | {g.gr_gid for g in grp.getgrall() if name in g.gr_mem})
    return pw.pw_uid, gid, groups


def in_child_as(ids, work):
    """work()'s JSON-able result, run in a forked child that has become these
    (uid, gid, groups)."""
    uid, gid, groups = ids
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setgroups(groups)
            os.setgid(gid)
            os.setuid(uid)
            os.write(w, json.dumps(work()).encode())
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 1 << 16)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return json.loads(data)


def as_ids(ids, paths):
    """{path: (writable, readable)} for each path, judged by the kernel for a
    process with these (uid, gid, groups): access(2) in a forked child."""
    out = in_child_as(ids, lambda: {p: (os.access(p, os.W_OK), os.access(p, os.R_OK)) for p in paths})
    return {p: tuple(v) for p, v in out.items()}


def queue_tries(ids, root):
    """As a process with these (uid, gid, groups): create, rename, link and unlink
    in queue/todo and queue/mess, each over a probe file there; {try: errno}, 0
    where the kernel let it through."""
    def work():
        out = {}
        for d in ("todo", "mess"):
            q = os.path.join(root, "queue", d)
            probe, moved, linked = (os.path.join(q, n) for n in ("probe", "moved", "linked"))
            # Each undone when it went through, so the next one meets the probe again.
            tries = {
                "create": lambda: os.close(os.open(os.path.join(q, "forged"), os.O_WRONLY | os.O_CREAT | os.O_EXCL)),
                "rename": lambda: (os.rename(probe, moved), os.rename(moved, probe)),
                "link": lambda: (os.link(probe, linked), os.unlink(linked)),
                "unlink": lambda: os.unlink(probe),
            }
            for what, act in tries.items():
                try:
                    act()
                    out[d + " " + what] = 0
                except OSError as e:
                    out[d + " " + what] = e.errno
        return out
    return in_child_as(ids, work)


@unittest.skipUnless(os.geteuid() == 0, "a system install needs root")
class PrivilegeAudit(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        qt.require("quail", "queue-send", "local-spawn", "tcpserver", "smtpd", "pop3d", "checkpassword",
                   "remote-deliver", "quail-dkim")
        cls.q = qt.Instance(prefix="quail-priv-")
        os.chmod(cls.q.tmp, 0o755)  # the services' users must reach ROOT
        cls.q.init(hostname="mx.sys.test", domains=("sys.test",), extra=("--system",))
        cls.q.add_user("alice@sys.test", "alice-secret")
        cls.q.quail("dkim", "keygen", "sys.test")
        # The checks on and a DNS list, so quail up starts the resident mailauth
        # and dnsbl (their sockets are quail-smtpd's); their DNS servers are a port
        # nobody answers on loopback (the audit's client, 127.0.0.1, may relay and
        # is asked about by neither).
        cls.q.write_control("authcheck", "1\n")
        cls.q.write_control("dnsbl", "bl.test\n")
        cls.q.write_control("dnsservers", "127.0.0.1@%d\n" % qt.free_port())
        cls.smtp, cls.submission, cls.pop3 = qt.free_port(), qt.free_port(), qt.free_port()
        cls.q.up(smtp="127.0.0.1:%d" % cls.smtp, submission="127.0.0.1:%d" % cls.submission,
                 pop3="127.0.0.1:%d" % cls.pop3)
        with smtplib.SMTP("127.0.0.1", cls.smtp, timeout=60) as c:
            c.sendmail("someone@elsewhere.test", ["alice@sys.test"], b"Subject: audit\r\n\r\nhi\r\n")
        qt.wait_for(lambda: cls.q.maildir_files("alice@sys.test"), 60, "delivery to alice")
        qt.wait_for(lambda: cls.q.queue_empty(), 60, "an empty queue")

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()

    def paths(self):
        """Every file and directory under ROOT (symlinks aside: bin/'s point into
        the build tree), relative."""
        out = ["."]
        for d, dirs, files in os.walk(self.q.root):
            for n in dirs + files:
                p = os.path.join(d, n)
                if not os.path.islink(p):
                    out.append(os.path.relpath(p, self.q.root))
        return sorted(out)

    def identities(self):
        """uid name -> (uid, gid, groups) as the live instance runs them."""
        send = qt.processes_under(self.q.root, "queue-send")
        listeners = qt.processes_under(self.q.root, "tcpserver")
        smtpd = [p for p in listeners if proc_ids(p)[0] == pwd.getpwnam("quail-smtpd").pw_uid]
        self.assertEqual(len(send), 1)
        self.assertEqual(len(smtpd), 2, "the smtp and submission listeners run as quail-smtpd")
        send_ids, smtpd_ids = proc_ids(send[0])[:3], proc_ids(smtpd[0])[:3]
        return {
            "quail-send": send_ids,
            "quail-smtpd": smtpd_ids,
            # Set-uid programs keep their caller's groups: queue-inject's is smtpd
            # (or a local sender), remote-deliver's queue-send.
            "quail-queue": login_ids("quail-queue", smtpd_ids[1], smtpd_ids[2]),
            "quail-remote": login_ids("quail-remote", send_ids[1], send_ids[2]),
            "quail-mail": login_ids("quail-mail"),
            "quail-log": login_ids("quail-log"),
            "nobody": login_ids("nobody"),
        }

    def test_resident_helpers_run_as_the_sessions_do(self):
        for name in ("mailauth", "tlsd", "dnsbl"):
            forks = [p for p in qt.processes_under(self.q.root)
                     if qt._proc_read(p, "comm").strip() == (name + "-forks").encode()]
            self.assertEqual(len(forks), 1, name)
            self.assertEqual(proc_ids(forks[0])[:3], self.identities()["quail-smtpd"], name)
            self.assertEqual(proc_ids(forks[0])[3], 0, "%s: no capabilities left" % name)
            st = os.stat(self.q.path("run", name + ".sock"))
            self.assertEqual((st.st_uid, st.st_mode & 0o777), (pwd.getpwnam("quail-smtpd").pw_uid, 0o600), name)

    def test_each_uid_writes_exactly_what_the_page_says(self):
        table = {row[0][0]: row[2] for row in doc_table("What each uid can write") if row and row[0]}
        ids = self.identities()
        self.assertEqual(set(table), set(ids), "the page's uids and the audited ones")
        paths = self.paths()
        full = {p: os.path.join(self.q.root, p) for p in paths}
        for name, who in ids.items():
            access = as_ids(who, list(full.values()))
            writable = {p for p in paths if access[full[p]][0]}
            patterns = table[name]
            undocumented = sorted(p for p in writable if not any(fnmatch.fnmatchcase(p, g) for g in patterns))
            self.assertEqual(undocumented, [], "%s can write what the page does not say" % name)
            fixed = [g for g in patterns if not any(c in g for c in "*?[")]
            self.assertEqual(sorted(g for g in fixed if g not in writable), [],
                             "%s cannot write what the page says it does" % name)
        qt.note("%d paths, %d uids" % (len(paths), len(ids)))

    def test_secrets_are_readable_only_by_the_uids_the_page_names(self):
        rows = doc_table("Who can read the secrets")
        ids = self.identities()
        paths = self.paths()
        access = {name: as_ids(who, [os.path.join(self.q.root, p) for p in paths]) for name, who in ids.items()}
        for row in rows:
            pattern, readers = row[0][0], set(row[1])
            matched = [p for p in paths if fnmatch.fnmatchcase(p, pattern) and
                       stat.S_ISREG(os.lstat(os.path.join(self.q.root, p)).st_mode)]
            self.assertTrue(matched, "no file matches %s" % pattern)
            for p in matched:
                can = {n for n in ids if access[n][os.path.join(self.q.root, p)][1]}
                self.assertEqual(can, readers, p)

    def test_root_is_held_by_supervise_local_spawn_and_the_pop3_login_step_alone(self):
        p = poplib.POP3("127.0.0.1", self.pop3, timeout=60)
        self.addCleanup(p.close)
        with smtplib.SMTP("127.0.0.1", self.smtp, timeout=60) as c:
            c.ehlo("client.test")
            self.assertTrue(p.getwelcome().startswith(b"+OK"))
            qt.wait_for(lambda: qt.processes_under(self.q.root, "smtpd") and qt.processes_under(self.q.root, "pop3d"),
                        30, "an SMTP and a POP3 session")
            spawners = qt.processes_under(self.q.root, "local-spawn")
            held = {}
            for pid in qt.processes_under(self.q.root):
                uid, _, _, caps = proc_ids(pid)
                name = os.path.basename(qt._proc_read(pid, "cmdline").split(b"\0")[0].decode())
                if uid != 0:
                    self.assertEqual(caps, 0, "%s (%d) as uid %d holds capabilities" % (name, pid, uid))
                    continue
                # local-spawn's children are root for a moment, until they become the recipient.
                ppid = int(qt._proc_read(pid, "stat").split(b")")[-1].split()[1])
                if ppid not in spawners:
                    held[name] = held.get(name, 0) + 1
            # supervise: one per service (queue-send, queue-inject, mailauth, tlsd,
            # dnsbl, three listeners); tcpserver and pop3d: the POP3 listener and its login step.
            self.assertEqual(held, {"supervise": 8, "local-spawn": 1, "tcpserver": 1, "pop3d": 1})

    def test_smtpd_and_the_mail_user_can_neither_forge_nor_lose_queued_mail(self):
        # Weakness 1 as it was: every service user had group quail, which may write
        # todo/ and mess/ (2770): smtpd or a virtual user's |program could delete
        # acknowledged mail or link a forged file into todo/.
        queue_uid, quail_gid = pwd.getpwnam("quail-queue").pw_uid, grp.getgrnam("quail").gr_gid
        names = ("probe", "forged", "moved", "linked")

        def clean():
            for d in ("todo", "mess"):
                for n in names:
                    if os.path.lexists(self.q.path("queue", d, n)):
                        os.unlink(self.q.path("queue", d, n))
        self.addCleanup(clean)
        for d in ("todo", "mess"):  # not a queue id: queue-send passes it over
            p = self.q.path("queue", d, "probe")
            with open(p, "wb") as f:
                f.write(b"a queued message\n")
            os.chown(p, queue_uid, quail_gid)
            os.chmod(p, 0o640)
        ids = self.identities()
        for name in ("quail-smtpd", "quail-mail", "quail-log"):
            tries = queue_tries(ids[name], self.q.root)
            self.assertEqual(tries, {k: errno.EACCES for k in tries}, name)
            self.assertEqual(len(tries), 8)
        for d in ("todo", "mess"):
            self.assertTrue(os.path.exists(self.q.path("queue", d, "probe")))
        # queue-send's user still may (its take unlinks todo/ names; stow, release and
        # the pool rename). A link of another user's file is fs.protected_hardlinks'
        # business: queue-send needs none (queue-inject names its file in mess/).
        tries = queue_tries(ids["quail-send"], self.q.root)
        self.assertEqual({k: v for k, v in tries.items() if not k.endswith(" link")},
                         {k: 0 for k in tries if not k.endswith(" link")})
        # And mail still flows: SMTP in, to alice's Maildir.
        before = len(self.q.maildir_files("alice@sys.test"))
        with smtplib.SMTP("127.0.0.1", self.smtp, timeout=60) as c:
            c.sendmail("someone@elsewhere.test", ["alice@sys.test"], b"Subject: after\r\n\r\nhi\r\n")
        qt.wait_for(lambda: len(self.q.maildir_files("alice@sys.test")) > before, 60, "delivery to alice")

    def test_remote_deliver_runs_for_queue_send_alone(self):
        # queue-send (quail-send) runs the set-uid quail-remote copy: mail leaves.
        peer = Peer().start()
        self.addCleanup(peer.stop)
        self.q.write_control("smtproutes", "remote.test:[127.0.0.1]:%d\n" % peer.port)
        r = self.q.sendmail(["-f", "alice@sys.test", "bob@remote.test"], b"Subject: leaving\n\nx\n")
        self.assertEqual(r.returncode, 0, r.err)
        qt.wait_for(lambda: peer.messages(), 60, "the message at the peer")
        # smtpd's uid may not execute it (group quail-send: queue-send's user alone);
        # run from a uid in that group it would still refuse before reading anything
        # (not queue-send's user), so no DKIM signature and no smarthost login.
        uid, gid, groups = self.identities()["quail-smtpd"]
        with self.assertRaises(PermissionError, msg="smtpd's uid ran remote-deliver"):
            subprocess.run([self.q.path("bin", "remote-deliver"), "remote.test"], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
                           preexec_fn=lambda: (os.setgroups(groups), os.setgid(gid), os.setuid(uid)))
        uid, gid, groups = pwd.getpwnam("quail-smtpd").pw_uid, grp.getgrnam("quail-send").gr_gid, \
            [grp.getgrnam("quail-send").gr_gid]

        def drop():
            os.setgroups(groups)
            os.setgid(gid)
            os.setuid(uid)
        r = subprocess.run([self.q.path("bin", "remote-deliver"), "remote.test", "alice@sys.test", "bob@remote.test"],
                           stdin=subprocess.DEVNULL, capture_output=True, preexec_fn=drop, timeout=60,
                           env={"PATH": "/usr/bin:/bin"})
        self.assertEqual(r.returncode, 111, r.stdout)
        self.assertIn(b"not by queue-send's user", r.stderr)

    def test_smtp_auth_works_in_a_system_install(self):
        # checkpassword runs as quail-smtpd there and could not create
        # run/login-failures (root's run/): every AUTH got 454 before quail up made it.
        with smtplib.SMTP("127.0.0.1", self.submission, timeout=60) as c:
            c.ehlo("client.test")
            self.assertEqual(c.login("alice@sys.test", "alice-secret")[0], 235)


if __name__ == "__main__":
    unittest.main()
