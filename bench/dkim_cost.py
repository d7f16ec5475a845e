"""bench/dkim_cost.py: the DKIM rows of `make bench` (bench/README.md).

CPU per message to sign (Ed25519-SHA256, RSA-2048-SHA256) and to verify one
signature, for a message of ~4 KiB. Each figure is the CPU (user + system, of
the reaped children) of BENCH_DKIM runs of `quail-dkim sign` or `quail-dkim
verify` minus that of as many runs doing everything but the crypto (sign for a
domain without keys; verify of an unsigned message), divided by the runs, so
the program's start is left out. Verification looks its key up in a dnsmasq on
loopback, so a lookup is part of it, as in real use.
"""
import os
import resource
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
import quailtest as qt  # noqa: E402

RUNS = int(os.environ.get("BENCH_DKIM", "100"))


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cpu_of(argv, data, runs):
    before = children_cpu()
    for _ in range(runs):
        subprocess.run(argv, input=data, capture_output=True, timeout=60)
    return children_cpu() - before


def bench_dkim(rows, say):
    if qt.missing("quail-dkim") or not qt.shutil.which("dnsmasq"):
        rows.append(("DKIM sign/verify CPU", "not measured", "quail-dkim or dnsmasq missing"))
        return
    say("bench: DKIM sign and verify, %d runs each..." % RUNS)
    q = qt.Instance(prefix="quail-bench-dkim-")
    dns = None
    try:
        q.init("mx.example.test", ["example.test"])
        records = {}
        for domain in ("ed.test", "rsa.test"):
            out = q.quail("dkim", "keygen", domain, "--selector", "b").out
            for line in out.splitlines():
                if "IN TXT" in line:
                    records[line.split()[0].rstrip(".")] = "".join(line.split('"')[1::2])
        # One key each: ed.test signs with Ed25519 only, rsa.test with RSA only.
        for domain, sel in (("ed.test", "b-ed25519"), ("rsa.test", "b-rsa")):
            with open(q.path("control", "dkim", domain, "selectors"), "w") as f:
                f.write(sel + "\n")
        dns, port = qt.start_dnsmasq_txt(records)
        q.write_control("dnsservers", "127.0.0.1@%d\n" % port)
        prog = [qt.bin_path("quail-dkim"), "--root", q.root]
        base_sign = cpu_of(prog + ["sign", "none.test"], b"", RUNS)
        for domain, alg in (("ed.test", "Ed25519-SHA256"), ("rsa.test", "RSA-2048-SHA256")):
            msg = qt.make_message(1, sender="alice@" + domain, size=4096)
            signed = subprocess.run(prog + ["sign", domain], input=msg, capture_output=True, check=True).stdout
            sign = cpu_of(prog + ["sign", domain], msg, RUNS)
            base_verify = cpu_of(prog + ["verify"], msg, RUNS)
            verify = cpu_of(prog + ["verify"], signed, RUNS)
            rows.append(("DKIM sign, %s, 4 KiB message" % alg, "%.2f ms CPU/msg" % ((sign - base_sign) * 1000 / RUNS),
                         "quail-dkim sign x %d minus a run without keys" % RUNS))
            rows.append(("DKIM verify, %s, 4 KiB message" % alg,
                         "%.2f ms CPU/msg" % ((verify - base_verify) * 1000 / RUNS),
                         "quail-dkim verify x %d minus unsigned; key from dnsmasq" % RUNS))
    finally:
        if dns:
            dns.terminate()
            dns.wait(10)
        q.cleanup()
