#!/usr/bin/python3
"""bench/peers/run.py: quail side by side with Postfix and OpenSMTPD (`make bench-peers`).

Installs the peers (Debian packages; started by nothing, nothing on port 25), starts
quail, Postfix, OpenSMTPD and a bare smtp-sink each on its own loopback port under one
work dir in /var/tmp, drives them all with Postfix's smtp-source in the same run,
interleaved, then counts fsyncs, measures one idle session's memory and the disk's
durable-write limit, writes bench/results/peers-*.md / .json / .png, and stops
everything it started. Opt-in only (root, apt-get, 10-20 minutes): never part of
`make check`. See bench/peers/README.md. Options: --quick, --runs, --messages, --keep.
"""
import os
import sys
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3") and __name__ == "__main__":
    os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)  # Debian's matplotlib lives there
import argparse
import json
import platform
import shutil
import signal
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
import quailtest as qt  # noqa: E402
import durability  # noqa: E402
import durable_write  # noqa: E402
import filesystems  # noqa: E402
import system_install  # noqa: E402
import idle  # noqa: E402
import install  # noqa: E402
import measure  # noqa: E402
import pop3  # noqa: E402
import procs  # noqa: E402
import report  # noqa: E402
import systems  # noqa: E402

# (kind, sessions, many messages per session?)
FULL = [("local", 1, False), ("local", 1, True), ("local", 8, False), ("local", 8, True),
        ("local", 32, False), ("local", 32, True), ("relay", 8, True), ("relay", 32, True)]
QUICK = [("local", 1, True), ("local", 8, True), ("local", 32, False), ("relay", 8, True)]


def say(*a):
    print("bench-peers:", *a, file=sys.stderr, flush=True)


def parse_args():
    ap = argparse.ArgumentParser(description="quail vs Postfix vs OpenSMTPD on loopback")
    ap.add_argument("--quick", action="store_true", help="300 messages, 1 run, 4 scenarios (development)")
    ap.add_argument("--runs", type=int, help="runs per cell (default 3; 1 with --quick)")
    ap.add_argument("--messages", type=int, help="messages per run (default 2000; 300 with --quick)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (configs, logs, Maildirs)")
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results"))
    ap.add_argument("--scenarios", help="comma list of scenario keys to run, e.g. local-8-many,relay-8-many")
    ap.add_argument("--from-json", metavar="PATH", help="only rewrite the .md/.png from a results .json")
    ap.add_argument("--skip", default="", help="comma list of phases to skip: matrix, memory, durability, pop3, idle, "
                    "system (the system install beside the single-user one), opensmtpd, postfix")
    ap.add_argument("--filesystems", default=",".join(filesystems.KINDS),
                    help="comma list of where to run, one whole pass each: here (/var/tmp), ext4-journal, xfs "
                         "(fresh, loop-mounted; root; xfs when xfsprogs is installed)")
    ap.add_argument("--idle", type=int, default=1000, help="idle SMTP sessions held at once (default 1000)")
    a = ap.parse_args()
    a.runs = a.runs or (1 if a.quick else 3)
    a.messages = a.messages or (300 if a.quick else 2000)
    return a


def environment(work):
    cpu = next((l.split(":", 1)[1].strip() for l in procs.read("/proc/cpuinfo").splitlines()
                if l.startswith("model name")), "?")
    fs = subprocess.run(["findmnt", "-no", "FSTYPE,SOURCE", "-T", work], capture_output=True, text=True)
    return {"commit": procs.git_commit(), "host": platform.node(), "cpus": os.cpu_count(), "cpu": cpu,
            "kernel": platform.release(), "fstype": fs.stdout.strip() or "?", "work": work,
            "load_before": measure.machine_state()["loadavg"]}


def measure_matrix(res, systs, args, relay_port):
    """Every scenario on every system, `runs` times, interleaved: run r of a scenario goes
    through the systems in an order rotated by r, so no system always comes first."""
    total = len(res["scenarios"]) * args.runs
    done = 0
    for r in range(args.runs):
        for sc in res["scenarios"]:
            done += 1
            order = systs[r % len(systs):] + systs[:r % len(systs)]
            for s in order:
                if sc["kind"] == "relay" and s.relay:
                    continue
                if sc["kind"] == "relay" and s.maildir is None:
                    continue
                out = measure.run_once(s, args.messages, sc["sessions"], sc["reuse"],
                                       relay_port if sc["kind"] == "relay" else None)
                res["runs"][sc["key"]].setdefault(s.name, []).append(out)
                say("[%d/%d] %-38s %-10s accept %s e2e %s%s" % (
                    done, total, sc["key"], s.name, fmt(out["accept_s"], args.messages),
                    fmt(out["e2e_s"], args.messages), "  ERROR " + out["error"] if out["error"] else ""))


def fmt(seconds, n):
    return "%6.0f/s" % (n / seconds) if seconds else "     -  "


def run_pass(args, facts, place):
    """The whole bench on one filesystem (filesystems.Place): results to args.out."""
    work = tempfile.mkdtemp(prefix="quail-peers-", dir=place.dir)
    os.chmod(work, 0o755)
    # a snapshot of quail's programs: a rebuild of build/bin during the run changes nothing
    shutil.copytree(args.quail_bin, os.path.join(work, "quail-bin"), symlinks=True)
    qt.BIN = os.path.join(work, "quail-bin")
    ports = {k: qt.free_port() for k in ("quail", "postfix", "opensmtpd", "sink", "relay")}
    quail = systems.Quail(work, ports["quail"], ports["relay"], qt)
    peers = [systems.Postfix(work, ports["postfix"], ports["relay"], facts["uid"], facts["gid"],
                             facts["postfix_version"]),
             systems.OpenSMTPD(work, ports["opensmtpd"], ports["relay"], facts["opensmtpd_tree"],
                               facts["opensmtpd_version"], install.MAILBOX_USER)]
    sink = systems.Sink(ports["sink"])
    skip = args.skip.split(",")
    peers = [p for p in peers if p.name.lower() not in skip]  # --skip opensmtpd: its 1-per-connection runs hit the cap
    extra = []
    if "system" not in args.skip and os.geteuid() == 0:  # system_install.py: `quail init --system`
        extra = [system_install.QuailSystemInstall(work, qt.free_port(), ports["relay"], qt)]
    systs = [quail] + extra + peers + [sink]
    res = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "messages": args.messages,
           "runs_count": args.runs, "systems": [s.name for s in systs], "env": environment(work),
           "relay": {s.name: s.relay for s in systs}, "runs": {}, "durability": {}, "before250": {},
           "memory": {}, "backlog": {}, "fsync_messages": 200, "before_messages": 10,
           "cap": measure.CAP}
    res["env"].update(quail=quail.version, postfix=facts["postfix_version"], opensmtpd=facts["opensmtpd_version"])
    if place.describe():
        res["fs"] = place.kind
        res["env"]["fstype"] += " (%s)" % place.describe()
    res["scenarios"] = [{"kind": k, "sessions": s, "reuse": r, "key": "%s-%d-%s" % (k, s, "many" if r else "one")}
                        for k, s, r in (QUICK if args.quick else FULL)]
    if args.scenarios:
        res["scenarios"] = [sc for sc in res["scenarios"] if sc["key"] in args.scenarios.split(",")]
    for sc in res["scenarios"]:
        res["runs"][sc["key"]] = {}
    start = time.monotonic()
    made_link = False
    try:
        made_link = install.link_libexec(facts["opensmtpd_tree"])
        place.bind_spool(systems.SPOOL)
        for s in systs:
            say("starting", s.name, "on 127.0.0.1:%d" % s.port)
            s.start()
            res["backlog"][s.name] = procs.listen_backlog(s.port)
        say("disk: durable-write probe in", work)
        med, values = durable_write.probe_median(work, runs=3, seconds=2.0)
        res["disk"] = {"median": med, "values": values}
        # memory first: later runs leave idle workers behind (Postfix keeps its smtpd
        # processes for max_idle), which is not what one idle session costs
        for s in systs if "memory" not in args.skip else []:
            say("memory of one idle session:", s.name)
            res["memory"][s.name] = measure.idle_session(s)
        for s in systs:  # warm caches and start every worker once; not measured
            measure.run_once(s, 50, 4, True)
        if "matrix" not in args.skip:
            measure_matrix(res, systs, args, ports["relay"])
        for s in [quail] + peers if "durability" not in args.skip else []:
            say("durability (strace):", s.name)
            res["durability"][s.name] = durability.fsync_counts(s, res["fsync_messages"])
            res["before250"][s.name] = durability.before_250(s, res["before_messages"])
        if "pop3" not in args.skip:  # quail's pop3d beside Dovecot: bench/peers/pop3.py
            res["pop3"] = pop3.measure(work, qt, install.MAILBOX_USER, say)
        if "idle" not in args.skip:
            res["idle"] = idle.measure_all(quail, peers, args.idle, say)
        res["env"]["load_after"] = measure.machine_state()["loadavg"]
        res["elapsed"] = time.monotonic() - start
        text = report.write_all(res, args.out)
        print(text)
    finally:
        for s in reversed(systs):
            try:
                s.stop()
            except Exception as e:  # noqa: BLE001 - stop the others all the same
                say("stopping %s: %s" % (s.name, e))
        if made_link:
            install.unlink_libexec()
        if args.keep:
            say("work dir kept:", work)
        else:
            shutil.rmtree(work, ignore_errors=True)
        left = install.port25_listeners()
        if left:
            say("WARNING: something listens on port 25:", left)


def main():
    args = parse_args()
    if args.from_json:
        with open(args.from_json) as f:
            print(report.write_all(json.load(f), args.out))
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally below
    need = qt.missing("quail", "tcpserver", "smtpd", "queue-inject", "queue-send", "local-deliver")
    if need:
        raise SystemExit("bench-peers: quail programs not built: %s (run make build)" % ", ".join(need))
    facts = install.install_all()
    args.quail_bin = qt.BIN
    for kind in args.filesystems.split(","):
        why = filesystems.available(kind)
        if why:
            say("filesystem %s skipped: %s" % (kind, why))
            continue
        place = filesystems.Place(kind)
        try:
            run_pass(args, facts, place)
        finally:
            place.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
