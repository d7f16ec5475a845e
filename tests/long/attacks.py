#!/usr/bin/python3
"""tests/long/attacks.py: issue 18's attack sets, complete (a few minutes; not in
`make check`, whose tests/e2e/82-attacks runs a bounded subset of the same tries).

    /usr/bin/python3 tests/long/attacks.py [SET...]

Prints per set "SET: tries N, successes M (figures)" and then every success
(each one a bug); exits 1 when any try succeeded. SET names the functions below
(smuggling-in, smuggling-out, starttls-smtp, starttls-pop3, open-relay,
header-injection, mime-bomb, auth-brute-force, starttls-client, hostile-peer,
slow-loris, connection-flood); none means all. QUAIL_BIN as for the e2e tests.
"""
import os
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
E2E = os.path.join(os.path.dirname(HERE), "e2e")
sys.path.insert(0, E2E)
sys.path.insert(0, os.path.join(E2E, "82-attacks"))

import attack_lib as al  # noqa: E402
import sets_auth  # noqa: E402
import sets_client  # noqa: E402
import sets_load  # noqa: E402
import sets_mime  # noqa: E402
import sets_relay  # noqa: E402
import sets_smuggling  # noqa: E402
import sets_starttls  # noqa: E402

SETS = [
    ("smuggling-in", [sets_smuggling.inbound]),
    ("smuggling-out", [sets_smuggling.outbound]),
    ("starttls-smtp", [sets_starttls.smtp]),
    ("starttls-pop3", [sets_starttls.pop3]),
    ("starttls-client", [sets_client.starttls_injection]),
    ("open-relay", [sets_relay.relay, sets_relay.relay_rules]),
    ("header-injection", [sets_relay.headers, sets_relay.headers_sendmail, sets_relay.headers_dsn]),
    ("mime-bomb", [sets_mime.inbound, sets_mime.outbound]),
    ("hostile-peer", [sets_client.hostile_replies]),
    ("auth-brute-force", [sets_auth.locks, sets_auth.sequential, sets_auth.parallel]),
    ("slow-loris", [sets_load.slow_loris]),
    ("connection-flood", [sets_load.flood]),
]


def main(argv):
    wanted = argv[1:] or [name for name, _ in SETS]
    unknown = set(wanted) - {name for name, _ in SETS}
    if unknown:
        print("unknown set(s): %s" % ", ".join(sorted(unknown)), file=sys.stderr)
        return 100
    tally, work = al.Tally(), al.Workdir()
    try:
        for name, fns in SETS:
            if name not in wanted:
                continue
            start = time.monotonic()
            for fn in fns:
                fn(work, tally, True)
            print("%s [%.0f s]" % (tally.line(name), time.monotonic() - start), flush=True)
    finally:
        work.cleanup()
    for set_name, try_name, detail in tally.found:
        print("SUCCESS %s: %s: %s" % (set_name, try_name, detail))
    total = sum(t for t, _ in tally.sets.values())
    wins = sum(w for _, w in tally.sets.values())
    print("all sets: tries %d, successes %d" % (total, wins))
    return 1 if wins else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
