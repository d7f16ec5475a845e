"""65-remote, kept runs: queue-send hands the messages waiting for one domain to
one remote-deliver run in turn, over one connection (man/queue-send.8, KEPT
REMOTE RUNS; man/remote-deliver.8, KEPT RUNS).

Twenty messages for one domain under concurrencyperdomain 1 reach the peer over
one connection, one transaction each, each message reported on its own; five
under STARTTLS take one TLS handshake; a peer
that says 421 and closes the connection after each message still gets the next
one (over a new connection, nothing deferred); kill -9 of the run in the middle
of its third message: the two before it stay delivered, the killed one and
those after it are delivered by the retries, each exactly once.
"""
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import unittest

import quailtest as qt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtp_peer import Peer  # noqa: E402

qt.require("quail", "quail-init", "quail-up", "sendmail", "queue-inject", "queue-send", "local-deliver",
           "remote-deliver")

DOMAIN = "example.test"
ALICE = "alice@" + DOMAIN
RETRY = {"QUAIL_RETRY_SCALE": "200"}  # a remote retry after 1.5 s, a back-off of 0.3 s


def events(q, **want):
    return [e for e in q.log_lines() if all(e.get(k) == v for k, v in want.items())]


def subjects(peer):
    """The Subject of every message the peer accepted, in order."""
    out = []
    for _, _, data in peer.messages():
        m = re.search(rb"^Subject: (.*?)\r\n", data, re.M)
        out.append(m.group(1).decode() if m else "")
    return out


class KeptRuns(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.template = qt.TemplateRoot("quail-e2e-kept-", "mx." + DOMAIN, [DOMAIN], users=[ALICE])

    @classmethod
    def tearDownClass(cls):
        cls.template.cleanup()

    def instance(self, peer, per_domain=None):
        peer.start()
        self.addCleanup(peer.stop)
        q = self.template.copy(self)
        q.write_control("smtproutes", "remote.test:[127.0.0.1]:%d\n" % peer.port)
        if per_domain:
            q.write_control("concurrencyperdomain", "%d\n" % per_domain)
        return q

    def queue(self, q, n, to=lambda i: "bob@remote.test"):
        """Queues n messages (Subject: kept <i>) before queue-send runs, so it finds them all at once."""
        for i in range(n):
            r = q.sendmail(["-f", ALICE, to(i)], qt.make_message(i, sender=ALICE, to=to(i), subject="kept %d" % i))
            self.assertEqual(r.returncode, 0, r.err)

    def test_twenty_messages_for_one_domain_travel_over_one_connection(self):
        peer = Peer(ehlo=["PIPELINING", "8BITMIME"])
        q = self.instance(peer, per_domain=1)
        self.queue(q, 20)
        q.up(env=RETRY)
        qt.wait_for(lambda: len(events(q, event="delivery", result="delivered")) == 20, 60, "20 deliveries")
        self.assertEqual(len(peer.sessions), 1, "one connection")
        self.assertEqual(len(peer.transactions()), 20, "one transaction per message")
        self.assertEqual(sorted(subjects(peer)), sorted("kept %d" % i for i in range(20)), "each message once")
        # Each message has its own delivery number and its own report.
        dlvs = {e["dlv"] for e in events(q, event="delivery", result="delivered")}
        self.assertEqual(len(dlvs), 20)
        self.assertEqual(len(events(q, event="reuse", result="ok")), 19)
        self.assertEqual(len(events(q, event="connect", result="ok")), 1)
        qt.wait_for(q.queue_empty, 30, "an empty queue")
        # Idle, the run says QUIT and ends.
        qt.wait_for(lambda: not q.pids("remote-deliver"), 30, "the idle run's end")
        self.assertEqual(peer.sessions[0]["commands"][-1], "QUIT")
        qt.note("20 messages: %d connection" % len(peer.sessions))

    def test_one_tls_handshake_for_a_batch_under_starttls(self):
        # Python's TLS 1.3 server sends session tickets after the handshake: records
        # without data that a kept connection must not take for the peer closing it.
        tmp = tempfile.mkdtemp(prefix="quail-e2e-kept-cert-")
        self.addCleanup(shutil.rmtree, tmp, True)
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-days", "2", "-subj", "/CN=peer.test", "-keyout", key, "-out", cert],
                       check=True, capture_output=True, timeout=60)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        peer = Peer(ehlo=["PIPELINING", "8BITMIME", "STARTTLS"], tls_context=ctx)
        q = self.instance(peer, per_domain=1)
        self.queue(q, 5)
        q.up(env=RETRY)
        qt.wait_for(lambda: len(events(q, event="delivery", result="delivered")) == 5, 60, "5 deliveries")
        self.assertEqual(len(peer.sessions), 1, "one connection")
        self.assertTrue(peer.sessions[0]["tls"])
        self.assertEqual(len(peer.transactions()), 5)
        self.assertEqual(len(events(q, event="tls")), 1, "one handshake")
        self.assertEqual(len(events(q, event="reuse", result="ok")), 4)

    def test_a_peer_that_closes_the_kept_connection_gets_the_next_message_anyway(self):
        peer = Peer(ehlo=["PIPELINING", "8BITMIME"], close_after_data=True)
        q = self.instance(peer, per_domain=1)
        self.queue(q, 3)
        q.up(env=RETRY)
        qt.wait_for(lambda: len(events(q, event="delivery", result="delivered")) == 3, 60, "3 deliveries")
        self.assertEqual(events(q, event="delivery", result="deferred"), [])
        self.assertEqual(len(peer.sessions), 3, "a new connection for each message")
        self.assertEqual(len(subjects(peer)), 3)
        reuse = [e["result"] for e in events(q, event="reuse")]
        self.assertEqual(len(reuse), 2, reuse)
        self.assertTrue(all(r in ("closed", "failed") for r in reuse), reuse)

    def test_kill_9_of_a_run_in_the_middle_of_a_batch_loses_nothing(self):
        hold = threading.Event()
        self.addCleanup(hold.set)

        def rcpt(addr):
            if addr.startswith("m2@"):
                hold.wait(60)  # the third message waits here
            return "250 2.1.5 ok"

        peer = Peer(ehlo=["8BITMIME"], rcpt=rcpt)
        q = self.instance(peer, per_domain=1)
        self.queue(q, 5, to=lambda i: "m%d@remote.test" % i)
        q.up(env=RETRY)
        # Messages are taken in no set order: wait for the held one at the peer.
        qt.wait_for(lambda: any(t["rcpt_commands"] == ["RCPT TO:<m2@remote.test>"] for t in peer.transactions()),
                    60, "the third message at the peer")
        before = len(peer.messages())
        pids = q.pids("remote-deliver")
        self.assertEqual(len(pids), 1, "one run for the domain")
        os.kill(pids[0], signal.SIGKILL)
        d = qt.wait_for(lambda: events(q, event="delivery", to="<m2@remote.test>"), 30, "the killed job's outcome")
        self.assertEqual(d[0]["result"], "deferred")
        self.assertIn("signal 9", d[0]["reason"])
        hold.set()
        qt.wait_for(lambda: len({e["to"] for e in events(q, event="delivery", result="delivered")}) == 5, 60,
                    "every message delivered")
        qt.wait_for(q.queue_empty, 30, "an empty queue")
        got = sorted(rcpts[0] for _, rcpts, _ in peer.messages())
        self.assertEqual(got, ["m%d@remote.test" % i for i in range(5)], "each message exactly once")
        self.assertLessEqual(before, 4)
        # The jobs reported before the kill were not sent again.
        for e in events(q, event="delivery", result="delivered"):
            self.assertEqual(len(events(q, event="delivery", to=e["to"], result="delivered")), 1)


if __name__ == "__main__":
    unittest.main()
