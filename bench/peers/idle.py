"""idle: many idle SMTP sessions at once in bench-peers (issue 13, target 4):
quail and Postfix with matching process limits, after the rest of the pass (the
limits are raised for it and the systems are not used again). The measurement
is bench/idle_sessions.py's: N sessions opened one after another (greeting, EHLO),
held, then the PSS of the processes holding them and of the whole system, and
the latency of a new session before and while they are held.
"""
import os
import subprocess
import time

import idle_sessions

SLACK = 50  # the latency probes and a margin above N


def quail_limits(quail, n):
    """quail: concurrencyincoming and concurrencyperip (tcpserver's -c and per-address
    limit, every client is 127.0.0.1) raised to N + SLACK; `quail down`, `quail up`."""
    q = quail.q
    q.write_control("concurrencyincoming", "%d\n" % (n + SLACK))
    q.write_control("concurrencyperip", "%d\n" % (n + SLACK))
    q.write_control("concurrencypernet", "%d\n" % (n + SLACK))
    q.down()
    q.up(smtp="127.0.0.1:%d" % quail.port)
    quail._roots = quail.qt.processes_under(q.root)


def postfix_limits(postfix, n):
    """Postfix: default_process_limit (the smtpd service's maxproc is "-") to N + SLACK,
    then a reload; its clients on 127.0.0.1 are in mynetworks, exempt from anvil."""
    etc = os.path.join(postfix.dir, "etc")
    subprocess.run(["postconf", "-c", etc, "-e", "default_process_limit=%d" % (n + SLACK)], check=True)
    postfix.postfix("reload")
    time.sleep(2)  # master re-reads master.cf and main.cf


def measure_all(quail, peers, n, say):
    out = {"sessions": n}
    for system, raise_limits in [(quail, quail_limits)] + [(p, postfix_limits) for p in peers if p.name == "Postfix"]:
        say("%d idle sessions: %s" % (n, system.name))
        try:
            raise_limits(system, n)
            r = idle_sessions.measure(system.port, n, system.tree, "smtpd")
            r["holder"] = "smtpd"
        except (OSError, RuntimeError, subprocess.CalledProcessError) as e:
            r = {"error": str(e)[:200]}
        out[system.name] = r
    return out


def markdown_lines(res):
    idle = res.get("idle")
    if not idle:
        return []
    L = ["", "## %d idle SMTP sessions at once" % idle["sessions"], "",
         "Sessions opened one after another (greeting, EHLO) and held; process limits raised to %d + %d for both "
         "systems (quail: concurrencyincoming, concurrencyperip; Postfix: default_process_limit). PSS from "
         "/proc/<pid>/smaps_rollup; latency: connect to the EHLO reply, median of %d new sessions."
         % (idle["sessions"], SLACK, idle_sessions.PROBES), "",
         "| system | accepted | smtpd processes | their PSS | per session | whole system PSS (before) "
         "| new session, ms: before / while held |", "|---|---|---|---|---|---|---|"]
    for name, r in idle.items():
        if name == "sessions":
            continue
        if "error" in r:
            L.append("| %s | failed: %s | | | | | |" % (name, r["error"]))
            continue
        L.append("| %s | %d of %d | %d | %.1f MiB | %.0f KiB | %.1f MiB (%.1f MiB) | %.2f / %.2f |" % (
            name, r["accepted"], r["asked"], r["holders"], r["holders_pss_kib"] / 1024,
            r["holders_pss_kib"] / max(r["holders"], 1), r["system_pss_kib"] / 1024, r["base_pss_kib"] / 1024,
            r["latency_before_ms"], r["latency_during_ms"]))
    return L
