"""system_install: quail as `quail init --system` makes it (issue 13, target 2), beside
the single-user instance: root only for local-spawn, queue-inject set-uid to the
queue user, each delivery in a worker of local-spawn that is its recipient. Mail goes to a
login's ~/Maildir as Postfix's local(8) would put it: a throwaway login whose home
lies in the pass's work dir (so on the pass's filesystem), removed at the end.
Same face as systems.Quail; `rcpt` tells measure.run_once where to send.
"""
import os
import statistics
import subprocess

import systems

LOGIN = "quailbenchsys"
HOSTNAME = "mx.sysbench.test"


class QuailSystemInstall(systems.Quail):
    name = "quail-system"

    def __init__(self, work, port, relay_port, qt):
        super().__init__(work, port, relay_port, qt)
        self.q = qt.Instance(root=os.path.join(work, "quail-system"))
        self.home = os.path.join(work, "home", LOGIN)
        self.maildir = os.path.join(self.home, "Maildir")
        self.rcpt = "%s@%s" % (LOGIN, HOSTNAME)  # a login: its address at the host name (control/locals)
        self.login = False

    def start(self):
        subprocess.run(["userdel", "-r", LOGIN], capture_output=True)  # a crashed run's
        os.makedirs(os.path.dirname(self.home), mode=0o755, exist_ok=True)
        subprocess.run(["useradd", "-m", "-d", self.home, "-s", "/usr/sbin/nologin", LOGIN], check=True,
                       capture_output=True)
        self.login = True
        os.chmod(self.home, 0o755)
        st = os.stat(self.home)
        for sub in ("", "tmp", "new", "cur"):
            path = os.path.join(self.maildir, sub)
            os.makedirs(path, exist_ok=True)
            os.chown(path, st.st_uid, st.st_gid)
        self.q.init(HOSTNAME, [systems.DOMAIN], extra=("--system",))
        self.q.write_control("concurrencyperip", "100\n")
        self.q.write_control("dnsservers", "127.0.0.1\n")
        self.q.write_control("smtproutes", "relay.test:127.0.0.1:%d\n" % self.relay_port)
        self.q.up(smtp="127.0.0.1:%d" % self.port)
        systems.wait_listening(self.port)
        self._roots = self.qt.processes_under(self.q.root)

    def stop(self):
        try:
            self.q.cleanup()
        finally:
            if self.login:
                subprocess.run(["userdel", LOGIN], capture_output=True)  # the home goes with the work dir
                self.login = False


def markdown_lines(res):
    """quail-system against quail (single-user) in the same run: the issue's 10 %."""
    if "quail-system" not in res.get("systems", []):
        return []
    L = ["", "## System install against single-user", "",
         "quail-system: `quail init --system`, delivering to a login's ~/Maildir (a worker of local-spawn per uid "
         "since issue 13 target 2); quail: the single-user instance, a virtual user, reused delivery workers. Ratio "
         "of the medians, end to end (accept where nothing was delivered); CPU per message beside it.", "",
         "| scenario | system / single-user, rate | CPU per message, single-user / system |", "|---|---|---|"]
    for key, runs in res["runs"].items():
        a, b = runs.get("quail", []), runs.get("quail-system", [])
        if not a or not b:
            continue

        def rate(rs):
            ts = [r["e2e_s"] or r["accept_s"] for r in rs if (r["e2e_s"] or r["accept_s"])]
            return statistics.median([rs[0]["n"] / t for t in ts]) if ts else None

        def cpu(rs):
            cs = [r["cpu_ms"] for r in rs if r["cpu_ms"]]
            return statistics.median(cs) if cs else None
        ra, rb, ca, cb = rate(a), rate(b), cpu(a), cpu(b)
        L.append("| %s | %s | %s |" % (key, "%.2f" % (rb / ra) if ra and rb else "—",
                                       "%.2f / %.2f ms" % (ca, cb) if ca and cb else "—"))
    return L
