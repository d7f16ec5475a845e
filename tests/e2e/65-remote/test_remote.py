"""65-remote: remote-deliver against a scriptable SMTP peer (smtp_peer.py) reached
through control/smtproutes, and two quail instances on loopback mailing each
other through MX records served by a real dnsmasq.

Per-recipient 250/450/550 in one transaction give delivered / retried / bounced
(the bounce parses as an RFC 3464 report quoting the peer); a VERP message to
three recipients at one domain travels as three transactions with their own
return paths over one connection, a refused one bouncing to its own return
path only; a connection dropped
in the middle of DATA is retried and nothing is lost; an 8-bit message reaches a
peer without 8BITMIME as quoted-printable that decodes to the original; 100
recipients travel in one connection (three transactions past a limit of 40);
a domain whose tlspolicy requires TLS is deferred, not sent in clear, by a peer
without STARTTLS; STARTTLS with certificate verification and DSN parameters
passed to a DSN peer; SIZE declared and a too-big message bounced; a relay
login; SMTPUTF8; IPv6; a silent host timing out; qmail-remote's report read
directly; MX order, a dead first MX, the implicit MX, null MX and NXDOMAIN
bounces, and an MX that is the instance's own listener bouncing as a loop;
two instances through smtproutes under STARTTLS (ESMTPS, TLS 1.2+);
Postfix as the receiving MTA; the system install's quail-remote user.
"""
import email
import email.policy
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

import quailtest as qt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtp_peer import Peer  # noqa: E402

qt.require("quail", "quail-init", "quail-up", "sendmail", "queue-inject", "queue-send", "local-deliver",
           "remote-deliver", "smtpd", "tcpserver")

DOMAIN = "example.test"
ALICE = "alice@" + DOMAIN
LIST = "list@" + DOMAIN  # takes list-<anything>@ (its .qmail-default): VERP return paths
RETRY = {"QUAIL_RETRY_SCALE": "200"}  # retries after 0.3 s, 1.2 s, 2.7 s ...


def events(q, **want):
    return [e for e in q.log_lines() if all(e.get(k) == v for k, v in want.items())]


def bounce_reports(q, addr=ALICE):
    out = []
    for raw in q.maildir_messages(addr):
        m = email.message_from_bytes(raw, policy=email.policy.default)
        if m.get_content_type() == "multipart/report":
            out.append(m)
    return out


def delivery_status(report):
    """The per-recipient fields of a multipart/report (a list of dicts, lowercase keys)."""
    for part in report.walk():
        if part.get_content_type() == "message/delivery-status":
            text = part.get_payload()
            if isinstance(text, list):  # the email package parses it as header blocks
                return [{k.lower(): str(v) for k, v in block.items()} for block in text[1:]]
    return []


class ScriptedPeer(unittest.TestCase):
    """remote-deliver through control/smtproutes to a peer on 127.0.0.1."""

    @classmethod
    def setUpClass(cls):
        cls.template = qt.TemplateRoot("quail-e2e-remote-", "mx." + DOMAIN, [DOMAIN], users=[ALICE, LIST])

    @classmethod
    def tearDownClass(cls):
        cls.template.cleanup()

    def start(self, peer, tlspolicy=None, smtp=False, extra_control=None):
        peer.start()
        self.addCleanup(peer.stop)
        q = self.template.copy(self)
        q.write_control("smtproutes", "remote.test:[127.0.0.1]:%d\n" % peer.port)
        if tlspolicy:
            q.write_control("tlspolicy", tlspolicy)
        for name, value in (extra_control or {}).items():
            q.write_control(name, value)
        listeners = {"smtp": "127.0.0.1:%d" % qt.free_port()} if smtp else {}
        q.up(env=RETRY, **listeners)
        q.smtp = listeners.get("smtp")
        return q

    def send(self, q, rcpts, message=None, n=1):
        r = q.sendmail(["-f", ALICE] + list(rcpts), message or qt.make_message(n, sender=ALICE))
        self.assertEqual(r.returncode, 0, r.err)

    def test_per_recipient_replies_in_one_transaction(self):
        replies = {"ok": "250 2.1.5 ok", "later": "450 4.2.1 mailbox busy", "bad": "550 5.1.1 no such user here"}
        peer = Peer(rcpt=lambda a: replies[a.split("@")[0]])
        q = self.start(peer)
        self.send(q, ["ok@remote.test", "later@remote.test", "bad@remote.test"])
        qt.wait_for(lambda: events(q, event="delivery", to="<bad@remote.test>"), 30, "the first attempt")
        first = peer.sessions[0]
        self.assertEqual(len(first["transactions"]), 1, first["commands"])
        self.assertEqual(len(first["transactions"][0]["rcpt_commands"]), 3, "all three in one transaction")
        self.assertEqual([m[1] for m in peer.messages()], [["ok@remote.test"]])
        result = {e["to"]: e["result"] for e in events(q, event="delivery", dlv="1")}
        self.assertEqual(result, {"<ok@remote.test>": "delivered", "<later@remote.test>": "deferred",
                                  "<bad@remote.test>": "failed"})
        # The failed recipient bounces to the sender, quoting the peer's reply.
        reports = qt.wait_for(lambda: bounce_reports(q), 30, "a bounce to alice")
        fields = delivery_status(reports[0])
        self.assertEqual(len(fields), 1, fields)
        self.assertIn("bad@remote.test", fields[0]["final-recipient"])
        self.assertEqual(fields[0]["status"], "5.1.1")
        self.assertIn("550 5.1.1 no such user here", fields[0]["diagnostic-code"])
        # The deferred one is tried again, alone (over the kept connection or a new one).
        qt.wait_for(lambda: len(peer.transactions()) >= 2 and peer.transactions()[1]["rcpt_commands"], 30, "a retry")
        self.assertEqual(peer.transactions()[1]["rcpt_commands"], ["RCPT TO:<later@remote.test>"])

    def test_verp_one_connection_one_transaction_per_return_path(self):
        replies = {"a": "250 2.1.5 ok", "b": "550 5.1.1 no such user here", "c": "250 2.1.5 ok"}
        peer = Peer(ehlo=["PIPELINING", "8BITMIME"], rcpt=lambda a: replies[a.split("@")[0]])
        q = self.start(peer)
        with open(os.path.join(q.home(LIST), ".qmail-default"), "w") as f:
            f.write("./Maildir/\n")
        rcpts = ["a@remote.test", "b@remote.test", "c@remote.test"]
        code, err = q.queue_inject(qt.make_message(1, sender=LIST), qt.envelope("list-@example.test-@[]", *rcpts))
        self.assertEqual(code, 0, err)
        qt.wait_for(lambda: all(events(q, event="delivery", to="<%s>" % r) for r in rcpts), 30, "three results")
        self.assertEqual(len(peer.sessions), 1, [s["commands"] for s in peer.sessions])
        txns = peer.sessions[0]["transactions"]
        self.assertEqual([(t["mail"].split()[1], t["rcpts"] or [c.split()[1] for c in t["rcpt_commands"]])
                          for t in txns],
                         [("FROM:<list-a=remote.test@example.test>", ["a@remote.test"]),
                          ("FROM:<list-b=remote.test@example.test>", ["TO:<b@remote.test>"]),
                          ("FROM:<list-c=remote.test@example.test>", ["c@remote.test"])])
        self.assertEqual([m[1] for m in peer.messages()], [["a@remote.test"], ["c@remote.test"]])
        # Only the three remote results: the bounce to list-b's return path is a
        # delivery of its own, which may already have been logged.
        wanted = {"<%s>" % r for r in rcpts}
        result = {e["to"]: e["result"] for e in events(q, event="delivery") if e["to"] in wanted}
        self.assertEqual(result, {"<a@remote.test>": "delivered", "<b@remote.test>": "failed",
                                  "<c@remote.test>": "delivered"})
        # The refused one bounces to its own return path, and only it.
        reports = qt.wait_for(lambda: bounce_reports(q, LIST), 30, "a bounce to list-b=remote.test@")
        self.assertEqual(reports[0]["To"].addresses[0].addr_spec, "list-b=remote.test@example.test")
        fields = delivery_status(reports[0])
        self.assertEqual(len(fields), 1, fields)
        self.assertIn("b@remote.test", fields[0]["final-recipient"])
        qt.wait_for(lambda: q.queue_empty(), 30, "an empty queue")
        self.assertEqual(len(bounce_reports(q, LIST)), 1)

    def test_helo_only_peer_gets_no_extensions_and_7bit(self):
        peer = Peer(ehlo=None, rcpt=lambda a: "550 5.1.1 no" if a.startswith("bad") else "250 2.1.5 ok")
        q = self.start(peer)
        self.send(q, ["ok1@remote.test", "bad@remote.test", "ok2@remote.test"], qt.make_message(13, sender=ALICE,
                  body="caf\xe9\n".encode("latin-1")))
        qt.wait_for(lambda: peer.messages(), 30, "the message")
        cmds = peer.sessions[0]["commands"]
        self.assertEqual(cmds[:2], ["EHLO mx.example.test", "HELO mx.example.test"])
        self.assertEqual(cmds[2], "MAIL FROM:<%s>" % ALICE, "no SIZE or BODY to an RFC 821 server")
        self.assertEqual(peer.messages()[0][1], ["ok1@remote.test", "ok2@remote.test"])
        self.assertTrue(all(b < 0x80 for b in peer.messages()[0][2]), "8-bit converted for a HELO server")
        d = qt.wait_for(lambda: events(q, event="delivery", result="failed"), 30, "bad's failure")
        self.assertEqual(d[0]["to"], "<bad@remote.test>")

    def test_recipient_limit_without_pipelining(self):
        peer = Peer(ehlo=["8BITMIME"], max_rcpt=2)
        q = self.start(peer)
        rcpts = ["r%d@remote.test" % i for i in range(5)]
        self.send(q, rcpts)
        qt.wait_for(lambda: len(events(q, event="delivery", result="delivered")) == 5, 30, "5 deliveries")
        self.assertEqual(len(peer.sessions), 1)
        self.assertEqual([t["rcpts"] for t in peer.transactions()], [rcpts[0:2], rcpts[2:4], rcpts[4:]])

    def test_connection_dropped_in_data_is_retried_and_nothing_lost(self):
        peer = Peer(drop_in_data=True)
        q = self.start(peer)
        body = b"".join(b"line %d of a message that is cut in the middle\n" % i for i in range(2000))
        msg = qt.make_message(7, sender=ALICE, body=body)
        self.send(q, ["carol@remote.test"], msg)
        deferred = qt.wait_for(lambda: events(q, event="delivery", result="deferred"), 30, "a deferral")
        self.assertIn("#4.4.2", deferred[0]["reason"])
        self.assertEqual(peer.messages(), [])
        self.assertEqual(len(q.queue_entries("mess")), 1, "the message stays queued")
        peer.drop_in_data = False
        qt.wait_for(lambda: peer.messages(), 60, "the retry's delivery")
        qt.wait_for(q.queue_empty, 30, "an empty queue")
        got = peer.messages()[0][2].replace(b"\r\n", b"\n")
        self.assertEqual(qt.strip_trace(got), qt.strip_trace(msg))
        self.assertFalse(bounce_reports(q))

    def test_8bit_message_to_a_peer_without_8bitmime_is_quoted_printable(self):
        peer = Peer(ehlo=["PIPELINING", "SIZE 1000000"])
        q = self.start(peer)
        text = "Grüße aus Köln, ça va? ½ € — fin\n.leading dot stays\n"
        msg = qt.make_message(3, sender=ALICE, body=text.encode(),
                              extra=b"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
                                    b"Content-Transfer-Encoding: 8bit\n")
        self.send(q, ["dave@remote.test"], msg)
        got = qt.wait_for(lambda: peer.messages(), 30, "the message")[0]
        self.assertNotIn("BODY=8BITMIME", got[0])
        self.assertTrue(all(b < 0x80 for b in got[2]), "7-bit on the wire")
        m = email.message_from_bytes(got[2], policy=email.policy.default)
        self.assertEqual(m["Content-Transfer-Encoding"], "quoted-printable")
        self.assertEqual(m.get_content().replace("\r\n", "\n"), text)

    def test_8bit_message_to_an_8bitmime_peer_goes_as_is(self):
        peer = Peer(ehlo=["PIPELINING", "8BITMIME"])
        q = self.start(peer)
        msg = qt.make_message(4, sender=ALICE, body="naïve café\n".encode())
        self.send(q, ["erin@remote.test"], msg)
        got = qt.wait_for(lambda: peer.messages(), 30, "the message")[0]
        self.assertIn("BODY=8BITMIME", got[0])
        self.assertTrue(got[2].endswith("naïve café\r\n".encode()))

    def test_100_recipients_travel_in_one_connection(self):
        peer = Peer(ehlo=["PIPELINING", "8BITMIME"], max_rcpt=40)
        q = self.start(peer)
        rcpts = ["user%03d@remote.test" % i for i in range(100)]
        self.send(q, rcpts)
        qt.wait_for(lambda: len(events(q, event="delivery", result="delivered")) == 100, 60, "100 deliveries")
        self.assertEqual(len(peer.sessions), 1, "one connection")
        txns = peer.transactions()
        self.assertEqual([len(t["rcpts"]) for t in txns], [40, 40, 20])
        self.assertEqual(sorted(r for t in txns for r in t["rcpts"]), rcpts)
        self.assertTrue(all(t["accepted"] for t in txns))
        qt.note("100 recipients: %d connection, %d transactions" % (len(peer.sessions), len(txns)))

    def test_required_tls_without_starttls_is_deferred_not_sent_in_clear(self):
        peer = Peer(ehlo=["PIPELINING", "8BITMIME"])
        q = self.start(peer, tlspolicy="remote.test:encrypt\n")
        self.send(q, ["frank@remote.test"])
        d = qt.wait_for(lambda: events(q, event="delivery", result="deferred"), 30, "a deferral")
        self.assertIn("#4.7.10", d[0]["reason"])
        self.assertFalse(any(c.startswith("MAIL") for s in peer.sessions for c in s["commands"]))
        self.assertEqual(len(q.queue_entries("mess")), 1)

    def make_cert(self, tmp, names):
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                        "/CN=peer.test", "-addext", "subjectAltName=" + names, "-keyout", key, "-out", cert],
                       check=True, capture_output=True, timeout=60)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        return ctx, cert

    def test_starttls_verified_and_dsn_parameters_passed_on(self):
        q0 = qt.Instance()  # a scratch directory for the certificate
        self.addCleanup(q0.cleanup)
        ctx, cert = self.make_cert(q0.tmp, "IP:127.0.0.1")
        peer = Peer(ehlo=["PIPELINING", "8BITMIME", "DSN", "STARTTLS"], tls_context=ctx)
        q = self.start(peer, tlspolicy="remote.test:verify\n", smtp=True)
        os.makedirs(q.path("control", "tls"), exist_ok=True)
        shutil.copy(cert, q.path("control", "tls", "remote-ca.pem"))
        host, port = q.smtp.rsplit(":", 1)
        import smtplib
        with smtplib.SMTP(host, int(port), timeout=30) as s:
            s.ehlo("client.test")
            s.sendmail(ALICE, ["gina@remote.test"], qt.make_message(5, sender=ALICE).replace(b"\n", b"\r\n"),
                       mail_options=["RET=HDRS", "ENVID=env-5"],
                       rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;gina@remote.test"])
        got = qt.wait_for(lambda: peer.messages(), 30, "the message")[0]
        session = peer.sessions[-1]
        self.assertTrue(session["tls"], session["commands"])
        self.assertIn("RET=HDRS", got[0])
        self.assertIn("ENVID=env-5", got[0])
        rcpt = session["transactions"][0]["rcpt_commands"][0]
        self.assertIn("NOTIFY=SUCCESS,FAILURE", rcpt)
        self.assertIn("ORCPT=rfc822;gina@remote.test", rcpt)
        d = qt.wait_for(lambda: events(q, event="delivery", result="delivered"), 30, "delivered")
        self.assertEqual(d[0].get("dsn"), "peer", d[0])
        tls = events(q, event="tls")
        self.assertEqual(tls[0]["verified"], "yes", tls)

    def test_unverifiable_certificate_under_verify_is_deferred(self):
        q0 = qt.Instance()
        self.addCleanup(q0.cleanup)
        ctx, _ = self.make_cert(q0.tmp, "IP:127.0.0.1")  # not trusted: no remote-ca.pem
        peer = Peer(ehlo=["PIPELINING", "STARTTLS"], tls_context=ctx)
        q = self.start(peer, tlspolicy="remote.test:verify\n")
        self.send(q, ["hank@remote.test"])
        d = qt.wait_for(lambda: events(q, event="delivery", result="deferred"), 30, "a deferral")
        self.assertIn("#4.7.5", d[0]["reason"])
        self.assertEqual(peer.messages(), [])

    def test_opportunistic_tls_with_any_certificate(self):
        q0 = qt.Instance()
        self.addCleanup(q0.cleanup)
        ctx, _ = self.make_cert(q0.tmp, "DNS:other.test")
        peer = Peer(ehlo=["PIPELINING", "STARTTLS"], tls_context=ctx)
        q = self.start(peer)
        self.send(q, ["ivan@remote.test"])
        qt.wait_for(lambda: peer.messages(), 30, "the message")
        self.assertTrue(peer.sessions[-1]["tls"])

    def test_relay_login_from_smtpauth_is_used_and_never_logged(self):
        secret = "s3cret:with:colons"
        peer = Peer(ehlo=["PIPELINING", "AUTH PLAIN LOGIN"], login=("relayuser", secret))
        q = self.start(peer, extra_control={"smtpauth": "[127.0.0.1]:relayuser:%s\n" % secret})
        self.send(q, ["kim@remote.test"])
        qt.wait_for(lambda: peer.messages(), 30, "the message")
        self.assertEqual(peer.logins, [("relayuser", secret)])
        for name in os.listdir(q.path("log")):
            with open(q.path("log", name), "rb") as f:
                self.assertNotIn(secret.encode(), f.read(), name)
        # A refused login defers: our configuration's trouble is never a bounce. (Another
        # domain routed to the same peer: remote.test's kept run is logged in already.)
        peer.login = ("relayuser", "another")
        q.write_control("smtproutes", "remote.test:[127.0.0.1]:%d\nother.test:[127.0.0.1]:%d\n" % (peer.port, peer.port))
        self.send(q, ["lee@other.test"], n=2)
        d = qt.wait_for(lambda: events(q, event="delivery", to="<lee@other.test>"), 30, "the second attempt")
        self.assertEqual(d[0]["result"], "deferred")
        self.assertIn("#4.7.0", d[0]["reason"])

    def test_utf8_address_at_a_peer_without_smtputf8_fails_clearly(self):
        peer = Peer(ehlo=["PIPELINING", "8BITMIME"])
        q = self.start(peer, smtp=True)
        host, port = q.smtp.rsplit(":", 1)
        import smtplib
        with smtplib.SMTP(host, int(port), timeout=30) as s:
            s.ehlo("client.test")
            s.sendmail(ALICE, ["jürgen@remote.test"], qt.make_message(8, sender=ALICE).replace(b"\n", b"\r\n"),
                       mail_options=["SMTPUTF8"])
        d = qt.wait_for(lambda: events(q, event="delivery", result="failed"), 30, "a failure")
        self.assertIn("SMTPUTF8", d[0]["reason"])
        self.assertIn("#5.6.7", d[0]["reason"])
        self.assertFalse(any(c.startswith("MAIL") for s in peer.sessions for c in s["commands"]))

    def test_ipv6_literal_route(self):
        peer = Peer(host="::1")
        q = self.start(peer, extra_control={"smtproutes": "remote.test:[IPv6:::1]:%d\n" % peer.port})
        self.send(q, ["mia@remote.test"])
        qt.wait_for(lambda: peer.messages(), 30, "the message over IPv6")
        self.assertTrue(events(q, event="connect", ip="::1", result="ok"))

    def test_silent_host_times_out_and_is_retried(self):
        q = self.start(Peer(greeting=None), extra_control={"timeoutgreeting": "2\n"})
        good = Peer().start()
        self.addCleanup(good.stop)
        self.send(q, ["nat@remote.test"])
        d = qt.wait_for(lambda: events(q, event="delivery", to="<nat@remote.test>"), 30, "the first attempt")
        self.assertEqual(d[0]["result"], "deferred")
        self.assertIn("timed out (greeting)", d[0]["reason"])
        q.write_control("smtproutes", "remote.test:[127.0.0.1]:%d\n" % good.port)  # each run reads it
        qt.wait_for(lambda: good.messages(), 60, "the retry through a host that answers")

    def test_size_declared_and_a_too_big_message_bounces(self):
        peer = Peer(ehlo=["PIPELINING", "SIZE 20000"])
        q = self.start(peer)
        self.send(q, ["olga@remote.test"], qt.make_message(11, sender=ALICE, size=4000))
        got = qt.wait_for(lambda: peer.messages(), 30, "the small message")[0]
        self.assertIn(" SIZE=%d" % len(got[2] + b".\r\n"), got[0], "SIZE= is the size on the wire")
        self.send(q, ["olga@remote.test"], qt.make_message(12, sender=ALICE, size=30000), n=12)
        d = qt.wait_for(lambda: events(q, event="delivery", result="failed"), 30, "the big one's failure")
        self.assertIn("#5.3.4", d[0]["reason"])
        self.assertEqual(len(peer.messages()), 1)

    def test_report_format_and_local_domain_never_sent(self):
        """remote-deliver run directly, as queue-send runs it: the report is
        qmail-remote's, and a domain in control/locals never goes out."""
        peer = Peer(rcpt=lambda a: "550 5.1.1 unknown" if a.startswith("bad") else "250 2.1.5 ok")
        q = self.start(peer)
        message = b"Subject: direct\n\nbody\n"
        envelope = b"F" + ALICE.encode() + b"\0Tok@remote.test\0Xnotify=SUCCESS\0Tbad@remote.test\0\0"
        qfile = os.path.join(q.tmp, "queue-file")
        with open(qfile, "wb") as f:
            f.write(message + envelope)

        def run(domain, *rcpts):
            with open(qfile, "rb") as f:
                r = subprocess.run([qt.bin_path("remote-deliver"), domain, ALICE] + list(rcpts), stdin=f,
                                   capture_output=True, env=q.env({"QUAIL_MESSAGE_LENGTH": str(len(message))}),
                                   timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            return r.stdout.split(b"\0")
        items = run("remote.test", "ok@remote.test", "bad@remote.test")
        self.assertEqual(items[0], b"r")
        self.assertTrue(items[1].startswith(b"h[127.0.0.1] said: 550 5.1.1 unknown (RCPT)"), items[1])
        self.assertTrue(items[1].endswith(b"(#5.1.1)"))
        self.assertTrue(items[2].startswith(b"K[127.0.0.1] accepted the message: 250"), items[2])
        self.assertEqual(items[3:], [b""], "the report ends with the final record's NUL")
        self.assertEqual(peer.messages()[-1][2], b"Subject: direct\r\n\r\nbody\r\n")
        before = len(peer.sessions)
        items = run(DOMAIN, ALICE)
        self.assertTrue(items[0].startswith(b"s") and items[0].endswith(b"(#4.3.5)"), items)
        self.assertEqual(len(peer.sessions), before, "nothing sent for a local domain")

    def test_kill_9_of_remote_deliver_and_of_queue_send_loses_nothing(self):
        import signal
        import threading
        hold = threading.Event()
        peer = Peer(rcpt=lambda a: (hold.wait(30), "250 2.1.5 ok")[1])
        q = self.start(peer)
        self.send(q, ["pat@remote.test"])
        # remote-deliver is in the middle of its session (the peer sits on RCPT): kill it.
        pids = qt.wait_for(lambda: q.pids("remote-deliver"), 30, "remote-deliver running")
        qt.wait_for(lambda: peer.sessions and peer.sessions[0]["transactions"], 30, "MAIL at the peer")
        os.kill(pids[0], signal.SIGKILL)
        d = qt.wait_for(lambda: events(q, event="delivery", to="<pat@remote.test>"), 30, "the outcome")
        self.assertEqual(d[0]["result"], "deferred")
        self.assertIn("signal 9", d[0]["reason"])
        # The retry is killed with queue-send itself, then everything restarts.
        pids = qt.wait_for(lambda: q.pids("remote-deliver"), 30, "the retry running")
        for pid in q.pids("queue-send") + pids:
            os.kill(pid, signal.SIGKILL)
        qt.wait_for(lambda: not q.pids("remote-deliver"), 30, "remote-deliver gone")
        self.assertEqual(peer.messages(), [])
        self.assertEqual(len(q.queue_entries("mess")), 1, "the message is still queued")
        hold.set()
        q.quail("down")
        q.up(env=RETRY)
        qt.wait_for(lambda: peer.messages(), 60, "the delivery after the restart")
        qt.wait_for(q.queue_empty, 30, "an empty queue")
        self.assertEqual(len(peer.messages()), 1)

    def test_too_many_received_fields_bounce(self):
        peer = Peer()
        q = self.start(peer)
        trace = b"".join(b"Received: from hop%d.test by hop%d.test; Thu, 1 Jan 2026 00:00:00 +0000\n" % (i, i)
                         for i in range(101))
        self.send(q, ["judy@remote.test"], trace + qt.make_message(6, sender=ALICE))
        d = qt.wait_for(lambda: events(q, event="delivery", result="failed"), 30, "a failure")
        self.assertIn("#5.4.6", d[0]["reason"])
        self.assertEqual(peer.sessions, [])


class OnlyRemoteDeliverLinksTlsAndDns(unittest.TestCase):
    """DESIGN.md principle 6: OpenSSL and libunbound cost every start that maps them;
    the queue and local delivery programs never need them (the listeners' TLS and
    DNS checks are their own engineers' to measure)."""
    MARKERS = (b"SSL_CTX_new", b"ub_ctx_create", b"libssl.so", b"libunbound.so", b"libcrypto.so")
    FREE = ("queue-inject", "queue-send", "local-deliver", "local-spawn", "sendmail", "inject", "mailq",
            "tcpserver", "quail")

    def test_queue_and_local_programs_carry_neither_openssl_nor_libunbound(self):
        with open(qt.bin_path("remote-deliver"), "rb") as f:
            data = f.read()
        self.assertIn(b"SSL_CTX_new", data)
        self.assertIn(b"ub_ctx_create", data)
        for name in self.FREE:
            if qt.missing(name):
                continue
            with open(qt.bin_path(name), "rb") as f:
                data = f.read()
            for m in self.MARKERS:
                self.assertNotIn(m, data, "%s carries %s" % (name, m.decode()))


@unittest.skipUnless(os.geteuid() == 0, "a system install needs root")
class SystemInstall(unittest.TestCase):
    """quail init --system: remote-deliver runs set-uid quail-remote, reads the queue
    file through the descriptor queue-send gives it and control/smtpauth, which
    only quail-remote can read."""

    def test_remote_deliver_runs_as_quail_remote(self):
        import grp
        import pwd
        import threading
        seen = []
        release = threading.Event()

        def rcpt(addr):
            release.wait(20)  # hold the session open while the test looks at the process
            return "250 2.1.5 ok"
        peer = Peer(ehlo=["PIPELINING", "AUTH PLAIN"], rcpt=rcpt, login=("sysrelay", "sys-secret")).start()
        self.addCleanup(peer.stop)
        q = qt.Instance(prefix="quail-sys-remote-")
        self.addCleanup(q.cleanup)
        os.chmod(q.tmp, 0o755)
        q.init(hostname="mx.sys.test", domains=("sys.test",), extra=("--system",))
        rd = os.stat(q.path("bin", "remote-deliver"))
        self.assertEqual(oct(rd.st_mode & 0o7777), oct(0o4710))
        self.assertEqual(pwd.getpwuid(rd.st_uid).pw_name, "quail-remote")
        self.assertEqual(grp.getgrgid(rd.st_gid).gr_name, "quail-send")  # queue-send's user alone runs it
        auth = q.path("control", "smtpauth")
        st = os.stat(auth)
        self.assertEqual((pwd.getpwuid(st.st_uid).pw_name, oct(st.st_mode & 0o777)), ("quail-remote", oct(0o600)))
        with open(auth, "w") as f:  # an existing file keeps its owner and mode
            f.write("[127.0.0.1]:sysrelay:sys-secret\n")
        q.write_control("smtproutes", "remote.test:[127.0.0.1]:%d\n" % peer.port)
        q.up()
        r = q.sendmail(["-f", "root@sys.test", "kate@remote.test"], qt.make_message(9, sender="root@sys.test"))
        self.assertEqual(r.returncode, 0, r.err)
        try:
            pids = qt.wait_for(lambda: qt.processes_under(q.root, "remote-deliver"), 30, "remote-deliver running")
            for line in qt._proc_read(pids[0], "status").decode().splitlines():
                if line.startswith("Uid:"):
                    seen = [pwd.getpwuid(int(x)).pw_name for x in line.split()[1:]]
        finally:
            release.set()
        self.assertEqual(seen[1], "quail-remote", "effective uid")  # real uid: quail-send, its parent's
        qt.wait_for(lambda: peer.messages(), 30, "the message")
        self.assertEqual(peer.logins, [("sysrelay", "sys-secret")])


@unittest.skipUnless(shutil.which("postfix") and os.geteuid() == 0,
                     "Postfix is not installed (Debian package postfix), or not root")
class PostfixPeer(unittest.TestCase):
    """A real MTA receives: Postfix (bench/peers' loopback configuration, its own
    config and queue directories, virtual(8) delivery to a Maildir)."""

    def test_postfix_receives_and_delivers(self):
        import pwd
        sys.path.insert(0, os.path.join(qt.REPO, "bench", "peers"))
        import systems  # noqa: E402
        work = qt.Instance(prefix="quail-e2e-postfix-")
        self.addCleanup(work.cleanup)
        os.chmod(work.tmp, 0o755)
        nobody = pwd.getpwnam("nobody")
        version = subprocess.run(["postconf", "-d", "-h", "mail_version"], capture_output=True, text=True).stdout
        pf = systems.Postfix(work.tmp, qt.free_port(), qt.free_port(), nobody.pw_uid, nobody.pw_gid, version.strip())
        self.addCleanup(pf.stop)
        pf.start()
        template = qt.TemplateRoot("quail-e2e-remote-pf-", "mx." + DOMAIN, [DOMAIN], users=[ALICE])
        self.addCleanup(template.cleanup)
        q = template.copy(self)
        q.write_control("smtproutes", "%s:[127.0.0.1]:%d\n" % (systems.DOMAIN, pf.port))
        q.up(env=RETRY)
        text = "Grüße über Postfix\n"
        msg = qt.make_message(10, sender=ALICE, to=systems.USER, body=text.encode())
        r = q.sendmail(["-f", ALICE, systems.USER], msg)
        self.assertEqual(r.returncode, 0, r.err)
        new = os.path.join(pf.maildir, "new")
        files = qt.wait_for(lambda: os.path.isdir(new) and os.listdir(new), 60, "the message in Postfix's Maildir")
        with open(os.path.join(new, files[0]), "rb") as f:
            got = f.read()
        self.assertEqual(qt.test_number(got), 10)
        self.assertTrue(got.endswith(text.encode()), got[-80:])
        d = events(q, event="delivery", result="delivered")
        self.assertIn("accepted the message: 250 2.0.0 Ok", d[0]["reason"])
        qt.note("Postfix " + pf.version)


class TwoInstancesStartTls(unittest.TestCase):
    """Two quail instances through control/smtproutes: A's remote-deliver sends to
    B's smtpd, which offers STARTTLS with quail init's self-signed certificate.
    A requires TLS for b.test (tlspolicy encrypt), so the mail cannot pass in
    clear, and B's Received line and both logs show the TLS 1.2+ session."""

    def test_mail_between_two_instances_travels_under_starttls(self):
        b = qt.Instance()
        self.addCleanup(b.cleanup)
        b.init("mx.b.test", ["b.test"])
        b.add_user("bob@b.test")
        port = qt.free_port()
        b.up(smtp="127.0.0.1:%d" % port)
        a = qt.Instance()
        self.addCleanup(a.cleanup)
        a.init("mx.a.test", ["a.test"])
        a.write_control("smtproutes", "b.test:[127.0.0.1]:%d\n" % port)
        a.write_control("tlspolicy", "b.test:encrypt\n")
        a.up(env=RETRY)
        r = a.sendmail(["-f", "alice@a.test", "bob@b.test"], qt.make_message(111, sender="alice@a.test", to="bob@b.test"))
        self.assertEqual(r.returncode, 0, r.err)
        got = qt.wait_for(lambda: b.maildir_messages("bob@b.test"), 60, "A's message at B")
        self.assertEqual(qt.test_number(got[0]), 111)
        m = email.message_from_bytes(got[0], policy=email.policy.compat32)
        received = [" ".join(h.split()) for h in m.get_all("Received")]
        by_b = [h for h in received if "by mx.b.test (quail smtpd)" in h]
        self.assertEqual(len(by_b), 1, received)
        self.assertRegex(by_b[0], r"from mx\.a\.test \(\[127\.0\.0\.1\]\) by mx\.b\.test \(quail smtpd\) "
                         r"with ESMTPS \(TLSv1\.[23] ", received)
        tls = qt.wait_for(lambda: events(a, event="tls", host="127.0.0.1"), 30, "A's tls log line")
        self.assertIn(tls[0].get("version"), ("TLSv1.2", "TLSv1.3"), tls[0])
        started = [e for e in b.log_lines("smtp") if e.get("event") == "starttls" and e.get("result") == "ok"]
        self.assertTrue(started and started[0]["protocol"] in ("TLSv1.2", "TLSv1.3"), started)
        # queue-send logs the delivery after B has the message: wait for the line.
        qt.wait_for(lambda: events(a, event="delivery", result="delivered"), 30, "A's delivery line")


def dns_answers(port, name):
    """True when a DNS server on 127.0.0.1:port answers an A query for name."""
    import struct
    query = struct.pack(">HHHHHH", 0x5157, 0x0100, 1, 0, 0, 0)
    query += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        try:
            s.sendto(query, ("127.0.0.1", port))
            reply = s.recv(512)
        except OSError:
            return False
    return reply[:2] == query[:2] and struct.unpack(">H", reply[6:8])[0] > 0


def free_udp_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@unittest.skipUnless(shutil.which("dnsmasq"), "dnsmasq is not installed (Debian package dnsmasq-base)")
@unittest.skipUnless(os.geteuid() == 0, "MX delivery is to port 25: binding it needs root")
class TwoInstancesThroughDns(unittest.TestCase):
    """Instances A (a.test, 127.0.65.2:25) and B (b.test, 127.0.65.3:25) and a
    dnsmasq on 127.0.0.1 serving their MX records and a few broken domains."""
    A_IP, B_IP, DEAD_IP = "127.0.65.2", "127.0.65.3", "127.0.65.9"

    @classmethod
    def setUpClass(cls):
        records = [
            "--mx-host=a.test,mx.a.test,10", "--host-record=mx.a.test,%s" % cls.A_IP,
            # b.test: a dead first MX, then B.
            "--mx-host=b.test,dead.b.test,5", "--host-record=dead.b.test,%s" % cls.DEAD_IP,
            "--mx-host=b.test,mx.b.test,10", "--host-record=mx.b.test,%s" % cls.B_IP,
            # implicit.test: no MX, an A record (B serves it).
            "--host-record=implicit.test,%s" % cls.B_IP,
            # null.test: RFC 7505's "0 ." (preference 0, the root name).
            "--dns-rr=null.test,15,000000",
            # loop.test: its MX is A itself.
            "--mx-host=loop.test,mx.a.test,10",
            # v6.test: one MX host with an AAAA record (a peer on [::1]:25) and a dead A.
            "--mx-host=v6.test,mx.v6.test,10", "--host-record=mx.v6.test,%s,::1" % cls.DEAD_IP,
        ]
        cls.dns = cls.start_dnsmasq(records)
        cls.a = cls.b = None
        try:
            cls.a = cls.instance("a.test", cls.A_IP)
            cls.b = cls.instance("b.test", cls.B_IP, extra_domains=["implicit.test"])
            cls.b.add_user("bob@b.test")
            cls.b.add_user("bob@implicit.test")
            cls.a.add_user("alice@a.test")
            for q, ip in ((cls.a, cls.A_IP), (cls.b, cls.B_IP)):
                q.up(env=RETRY, smtp="%s:25" % ip)
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def start_dnsmasq(cls, records):
        """dnsmasq in the foreground on 127.0.0.1 and a free port, answering only
        from its records; started again on another port when the one picked was
        taken in the meantime (it also listens on TCP), and waited for until it
        answers a query."""
        for _ in range(5):
            cls.dns_port = free_udp_port()
            log = tempfile.TemporaryFile()
            p = subprocess.Popen(["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts",
                                  "--conf-file=/dev/null", "--listen-address=127.0.0.1", "--bind-interfaces",
                                  "--port=%d" % cls.dns_port, "--local=/test/", "--log-facility=-", "--user=root",
                                  "--pid-file="] + records, stdout=log, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and p.poll() is None:
                if dns_answers(cls.dns_port, "mx.a.test"):
                    return p
                time.sleep(0.1)
            p.kill()
            p.wait()
            log.seek(0)
            why = log.read().decode(errors="replace")
        raise AssertionError("dnsmasq did not start: " + why[-500:])

    @classmethod
    def instance(cls, domain, ip, extra_domains=()):
        q = qt.Instance()
        q.init("mx." + domain, [domain] + list(extra_domains))
        q.write_control("dnsservers", "127.0.0.1@%d\n" % cls.dns_port)
        return q

    @classmethod
    def tearDownClass(cls):
        for q in (cls.a, cls.b):
            if q:
                q.cleanup()
        cls.dns.terminate()
        try:
            cls.dns.wait(10)
        except subprocess.TimeoutExpired:
            cls.dns.kill()

    def send(self, q, sender, rcpt, n):
        r = q.sendmail(["-f", sender, rcpt], qt.make_message(n, sender=sender, to=rcpt))
        self.assertEqual(r.returncode, 0, r.err)

    def test_a_and_b_mail_each_other_through_mx(self):
        self.send(self.a, "alice@a.test", "bob@b.test", 101)
        got = qt.wait_for(lambda: self.b.maildir_messages("bob@b.test"), 60, "A's message at B")
        self.assertEqual(qt.test_number(got[0]), 101)
        route = events(self.a, event="route", domain="b.test")
        self.assertEqual(route[0]["via"], "mx")
        self.assertEqual(route[0]["hosts"], "dead.b.test,mx.b.test", "MX in preference order")
        self.assertTrue(events(self.a, event="connect", host="dead.b.test", result="failed"))
        self.send(self.b, "bob@b.test", "alice@a.test", 102)
        got = qt.wait_for(lambda: self.a.maildir_messages("alice@a.test"), 60, "B's reply at A")
        self.assertIn(102, [qt.test_number(m) for m in got])

    def test_implicit_mx(self):
        self.send(self.a, "alice@a.test", "bob@implicit.test", 103)
        got = qt.wait_for(lambda: self.b.maildir_messages("bob@implicit.test"), 60, "delivery by A record")
        self.assertEqual(qt.test_number(got[0]), 103)
        self.assertEqual(events(self.a, event="route", domain="implicit.test")[0]["via"], "implicit-mx")

    def test_ipv6_address_of_an_mx_is_tried_first(self):
        try:
            peer = Peer(host="::1", port=25).start()
        except OSError as e:
            self.skipTest("cannot listen on [::1]:25: %s" % e)
        self.addCleanup(peer.stop)
        self.send(self.a, "alice@a.test", "x@v6.test", 107)
        got = qt.wait_for(lambda: peer.messages(), 60, "the message over IPv6")
        self.assertEqual(got[0][1], ["x@v6.test"])
        connects = events(self.a, event="connect", host="mx.v6.test")
        self.assertEqual((connects[0]["ip"], connects[0]["result"]), ("::1", "ok"))

    def bounce_status(self, rcpt):
        def find():
            for m in bounce_reports(self.a, "alice@a.test"):
                for f in delivery_status(m):
                    if rcpt in f.get("final-recipient", ""):
                        return f
            return None
        return qt.wait_for(find, 60, "a bounce for " + rcpt)

    def test_null_mx_bounces(self):
        self.send(self.a, "alice@a.test", "x@null.test", 104)
        f = self.bounce_status("x@null.test")
        self.assertEqual(f["status"], "5.1.10")
        self.assertIn("null MX", f["diagnostic-code"])

    def test_nonexistent_domain_bounces(self):
        self.send(self.a, "alice@a.test", "x@nowhere.test", 105)
        self.assertEqual(self.bounce_status("x@nowhere.test")["status"], "5.1.2")

    def test_mx_pointing_at_our_own_listener_bounces_as_a_loop(self):
        self.send(self.a, "alice@a.test", "x@loop.test", 106)
        f = self.bounce_status("x@loop.test")
        self.assertEqual(f["status"], "5.4.6")
        self.assertTrue(events(self.a, event="loop"))


if __name__ == "__main__":
    unittest.main()
