"""smtpd end to end, run directly over a socketpair (as tcpserver would run it):
what reaches the queue, pipelining at scale, BDAT, limits, the Received line,
the envelope's DSN records, logging, memory, and a real client (smtplib)."""
import os
import re
import smtplib
import socket
import subprocess
import tempfile
import time
import unittest

import quailtest as qt

qt.require("smtpd", "queue-inject")

import smtpd_harness as h  # noqa: E402


class SmtpdTest(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="quail-smtpd-")
        self.addCleanup(h.rmtree, self.work)
        self.root = h.make_root(self.work)
        self.sessions = []

    def tearDown(self):
        for s in self.sessions:
            s.close()

    def session(self, env=None, **kw):
        s = h.Session(self.root, env, **kw)
        self.sessions.append(s)
        self.assertTrue(s.reply().startswith("220 "))
        return s

    def control(self, name, value):
        h.write_control(self.root, name, value)

    def start_tx(self, s, rcpts=("alice@example.test",), sender="bob@remote.test", ehlo="client.example.test"):
        self.assertTrue(s.cmd("EHLO " + ehlo).startswith("250"))
        self.assertTrue(s.cmd("MAIL FROM:<%s>" % sender).startswith("250 2.1.0"))
        for r in rcpts:
            self.assertTrue(s.cmd("RCPT TO:<%s>" % r).startswith("250 2.1.5"), r)

    def queued(self):
        return h.queue_files(self.root)

    def assert_nothing_queued(self):
        self.assertEqual(self.queued(), [])
        # a refused message leaves no half-written file behind either
        qt.wait_for(lambda: not os.listdir(os.path.join(self.root, "queue", "tmp")), 10, "queue/tmp empty")

    # ------------------------------------------------------------ messages

    def test_smtplib_message_reaches_the_queue_with_lf_line_ends(self):
        s = self.session()
        c = smtplib.SMTP(local_hostname="client.example.test")
        c.sock, c.file = s.sock, None
        msg = b"From: bob@remote.test\r\nSubject: hi\r\n\r\nline one\r\n.starts with a dot\r\n..two dots\r\n"
        c.sendmail("bob@remote.test", ["alice@example.test"], msg)
        c.quit()
        [(hdr, message, env)] = self.queued()
        self.assertEqual(env["sender"], "bob@remote.test")
        self.assertEqual([r["address"] for r in env["recipients"]], ["alice@example.test"])
        self.assertNotIn(b"\r", message)
        self.assertTrue(message.startswith(b"Received: (quail-queue "))
        body = message.split(b"\n\n", 1)[1]
        self.assertEqual(body, b"line one\n.starts with a dot\n..two dots\n")
        logs = s.log_lines()
        sid = logs[0]["sid"]
        received = qt.header(message, "Received")[1].decode()
        self.assertRegex(received, r"^from client\.example\.test \(\[127\.0\.0\.1\]\) by mx\.example\.test \(quail smtpd\) "
                                   r"with ESMTP id %s\.1 for <alice@example\.test>; \w{3}, " % sid)
        events = [(l["event"], l.get("sid")) for l in logs]
        self.assertEqual(events, [("connect", sid), ("accepted", sid), ("end", sid)])
        accepted = logs[1]
        self.assertEqual((accepted["from"], accepted["rcpts"], accepted["n"]), ("<bob@remote.test>", "1", "1"))
        self.assertEqual(logs[2]["reason"], "quit")

    def test_received_names_no_recipient_when_there_are_several(self):
        s = self.session()
        self.start_tx(s, rcpts=("alice@example.test", "bob@example.test"), ehlo="we(ird)")
        self.assertTrue(s.cmd("DATA").startswith("354"))
        self.assertTrue(s.cmd("Subject: x\r\n\r\nhi\r\n.").startswith("250 2.0.0 ok"))
        [(_, message, _)] = self.queued()
        received = qt.header(message, "Received")[1].decode()
        self.assertNotIn(" for ", received)
        self.assertTrue(received.startswith("from we_ird_ ([127.0.0.1])"), received)

    def test_pipelined_100_recipients_and_data_in_one_write(self):
        s = self.session({"RELAYCLIENT": ""})
        self.assertTrue(s.cmd("EHLO x").startswith("250"))
        rcpts = ["user%03d@remote%d.test" % (i, i % 7) for i in range(100)]
        s.send("MAIL FROM:<bob@remote.test>\r\n" + "".join("RCPT TO:<%s>\r\n" % r for r in rcpts) + "DATA\r\n")
        replies = s.replies(102)
        self.assertEqual(replies[0], "250 2.1.0 <bob@remote.test> ok")
        self.assertEqual(replies[1:101], ["250 2.1.5 <%s> ok" % r for r in rcpts])
        self.assertTrue(replies[101].startswith("354 "))
        s.send("Subject: many\r\n\r\nhello\r\n.\r\nQUIT\r\n")
        self.assertTrue(s.reply().startswith("250 2.0.0 ok"))
        self.assertTrue(s.reply().startswith("221"))
        [(_, _, env)] = self.queued()
        self.assertEqual([r["address"] for r in env["recipients"]], rcpts)

    def test_pipelined_replies_keep_order_with_refusals_mixed_in(self):
        self.control("tarpitcount", "0")  # 40 refusals: the tarpit would slow and end the session
        self.control("tarpitmax", "0")
        s = self.session()
        s.send("EHLO x\r\nMAIL FROM:<>\r\n" + "".join(
            "RCPT TO:<%s>\r\n" % ("alice@example.test" if i % 3 == 0 else
                                  "nobody%d@example.test" % i if i % 3 == 1 else "x%d@remote.test" % i)
            for i in range(60)) + "DATA\r\n")
        replies = s.replies(63)
        self.assertTrue(replies[0].startswith("250-"))
        for i, r in enumerate(replies[2:62]):
            want = ("250 2.1.5", "550 5.1.1", "554 5.7.1")[i % 3]
            self.assertTrue(r.startswith(want), (i, r))
        self.assertTrue(replies[62].startswith("354"))

    def test_bdat_chunks_over_a_raw_socket(self):
        s = self.session()
        self.start_tx(s)
        parts = [b"Subject: chunked\r", b"\n\r\n", b"line 1\r\n.\r\n", b"..line 3\r\n" * 1000, b"end\r\n"]
        for p in parts[:-1]:
            s.send(b"BDAT %d\r\n" % len(p) + p)
            self.assertEqual(s.reply(), "250 2.0.0 %d octets received" % len(p))
        s.send(b"BDAT %d LAST\r\n" % len(parts[-1]) + parts[-1])
        self.assertTrue(s.reply().startswith("250 2.0.0 ok"))
        [(_, message, _)] = self.queued()
        body = message.split(b"\n\n", 1)[1]
        self.assertEqual(body, b"line 1\n.\n" + b"..line 3\n" * 1000 + b"end\n")

    def test_bdat_pipelined_chunks_after_a_refused_one_are_discarded(self):
        self.control("databytes", "100")
        s = self.session()
        self.start_tx(s)
        s.send(b"BDAT 60\r\n" + b"a" * 58 + b"\r\n" + b"BDAT 60\r\n" + b"b" * 60 + b"BDAT 3 LAST\r\nc\r\nNOOP\r\n")
        self.assertEqual(s.reply(), "250 2.0.0 60 octets received")
        self.assertEqual(s.reply(), "552 5.3.4 message size exceeds fixed maximum message size")
        self.assertTrue(s.reply().startswith("503 5.5.1 transaction failed"))
        self.assertEqual(s.reply(), "250 2.0.0 ok")
        self.assert_nothing_queued()

    # ------------------------------------------------------------ smuggling

    def test_smuggling_vectors_never_make_two_messages(self):
        vectors = [b"\n.\n", b"\r.\r", b"\r\n.\n", b"\n.\r\n", b"\r.\r\n", b"\r\n.\r", b"\n..\n", b"\r\n\x00.\r\n"]
        for v in vectors:
            with self.subTest(vector=v):
                s = self.session({"RELAYCLIENT": ""})
                self.start_tx(s)
                self.assertTrue(s.cmd("DATA").startswith("354"))
                smuggled = (b"MAIL FROM:<ceo@example.test>\r\nRCPT TO:<victim@remote.test>\r\nDATA\r\n"
                            b"Subject: smuggled\r\n\r\nsend money\r\n")
                s.send(b"Subject: first\r\n\r\nhello" + v + smuggled + b".\r\nNOOP\r\n")
                self.assertTrue(s.reply().startswith(("550 5.6.0", "554 5.6.0")))
                self.assertEqual(s.reply(), "250 2.0.0 ok")  # the NOOP: nothing else was run
                logs = s.log_lines()
                self.assertEqual([l["event"] for l in logs], ["connect", "rejected", "end"])
                self.assert_nothing_queued()

    # ------------------------------------------------------------ limits

    def test_data_over_databytes_is_read_to_its_end_and_refused(self):
        self.control("databytes", "1000")
        s = self.session()
        self.start_tx(s)
        self.assertTrue(s.cmd("DATA").startswith("354"))
        s.send(b"Subject: big\r\n\r\n" + b"x" * 70 + b"\r\n" + (b"y" * 70 + b"\r\n") * 100 + b".\r\nNOOP\r\n")
        self.assertEqual(s.reply(), "552 5.3.4 message size exceeds fixed maximum message size")
        self.assertEqual(s.reply(), "250 2.0.0 ok")
        self.assert_nothing_queued()
        # just under the limit passes
        self.assertTrue(s.cmd("MAIL FROM:<a@b.test>").startswith("250"))
        self.assertTrue(s.cmd("RCPT TO:<alice@example.test>").startswith("250"))
        self.assertTrue(s.cmd("DATA").startswith("354"))
        self.assertTrue(s.cmd("Subject: ok\r\n\r\n" + "z" * 900 + "\r\n.").startswith("250 2.0.0 ok"))
        self.assertEqual(len(self.queued()), 1)

    def test_text_line_over_1000_octets_refuses_the_message(self):
        s = self.session()
        for n, want in ((998, "250 2.0.0 ok"), (999, "552 5.3.4 message has a line over 1000 octets")):
            self.start_tx(s)
            self.assertTrue(s.cmd("DATA").startswith("354"))
            self.assertTrue(s.cmd("Subject: x\r\n\r\n" + "l" * n + "\r\n.").startswith(want), n)
        self.assertEqual(len(self.queued()), 1)

    def test_more_than_100_received_headers_is_a_loop(self):
        s = self.session()
        for n, want in ((100, "250 2.0.0 ok"), (101, "554 5.4.6 ")):
            self.start_tx(s)
            self.assertTrue(s.cmd("DATA").startswith("354"))
            hops = "".join("Received: from hop%d by hop%d; Thu, 1 Jan 2026 00:00:00 +0000\r\n" % (i, i + 1)
                           for i in range(n))
            self.assertTrue(s.cmd(hops + "Subject: x\r\n\r\nhi\r\n.").startswith(want), n)
        self.assertEqual(len(self.queued()), 1)

    def test_maxrcpt(self):
        self.control("maxrcpt", "3")
        s = self.session()
        self.start_tx(s, rcpts=())
        for i, r in enumerate(["alice@example.test", "bob@example.test", "postmaster@example.test",
                               "alice-x@example.test"]):
            want = "452 4.5.3 too many recipients" if i == 3 else "250 2.1.5"
            self.assertTrue(s.cmd("RCPT TO:<%s>" % r).startswith(want), r)

    def test_duplicate_recipients_are_queued_once(self):
        s = self.session()
        self.start_tx(s, rcpts=("alice@example.test", "Alice@example.test", "alice@EXAMPLE.test", "bob@example.test"))
        self.assertTrue(s.cmd("DATA").startswith("354"))
        self.assertTrue(s.cmd("\r\nhi\r\n.").startswith("250"))
        [(_, _, env)] = self.queued()
        self.assertEqual([r["address"] for r in env["recipients"]],
                         ["alice@example.test", "Alice@example.test", "bob@example.test"])

    def test_timeout_inside_data(self):
        self.control("timeoutsmtpd", "1")
        s = self.session()
        self.start_tx(s)
        self.assertTrue(s.cmd("DATA").startswith("354"))
        s.send("Subject: slow\r\n\r\nhalf a mess")
        self.assertEqual(s.reply(), "421 4.4.2 mx.example.test timeout, closing connection")
        self.assertTrue(s.closed())
        self.assertTrue(h.wait_gone(s.proc))
        self.assertEqual(s.proc.returncode, 0)
        self.assert_nothing_queued()

    def test_client_vanishing_inside_data_queues_nothing(self):
        s = self.session()
        self.start_tx(s)
        self.assertTrue(s.cmd("DATA").startswith("354"))
        s.send("Subject: gone\r\n\r\nhalf")
        s.sock.shutdown(socket.SHUT_WR)
        self.assertTrue(h.wait_gone(s.proc))
        logs = s.log_lines()
        self.assertEqual([l["event"] for l in logs], ["connect", "rejected", "end"])
        self.assertEqual(logs[-1]["reason"], "eof")
        self.assert_nothing_queued()

    # ------------------------------------------------------------ envelope

    def test_dsn_and_smtputf8_reach_the_envelope(self):
        self.control("rcpthosts", "example.test\nbücher.test")
        s = self.session()
        self.assertTrue(s.cmd("EHLO x").startswith("250"))
        self.assertTrue(s.cmd("MAIL FROM:<jörg@bücher.test> RET=hdrs ENVID=QQ+2B1 SMTPUTF8 BODY=8BITMIME")
                        .startswith("250"))
        self.assertTrue(s.cmd("RCPT TO:<alice@example.test> NOTIFY=failure,delay ORCPT=rfc822;alice+40example.test")
                        .startswith("250"))
        self.assertTrue(s.cmd("RCPT TO:<bob@example.test>").startswith("250"))
        self.assertTrue(s.cmd("DATA").startswith("354"))
        self.assertTrue(s.cmd("Subject: ü\r\n\r\nhi\r\n.").startswith("250"))
        [(_, message, env)] = self.queued()
        self.assertEqual(env["sender"], "jörg@bücher.test")
        self.assertEqual(env["ext"], {"ret": "HDRS", "envid": "QQ+2B1", "smtputf8": "1"})
        self.assertEqual(env["recipients"], [
            {"address": "alice@example.test", "notify": "FAILURE,DELAY", "orcpt": "rfc822;alice+40example.test"},
            {"address": "bob@example.test"}])
        self.assertIn(b"with UTF8SMTP id", message)

    def test_bare_postmaster_is_delivered_to_a_local_postmaster(self):
        s = self.session()
        self.start_tx(s, rcpts=())
        r = s.cmd("RCPT TO:<postmaster>")
        self.assertTrue(r.startswith("250 2.1.5 <postmaster@"), r)
        self.assertTrue(s.cmd("DATA").startswith("354"))
        self.assertTrue(s.cmd("\r\nhi\r\n.").startswith("250"))
        [(_, _, env)] = self.queued()
        domain = env["recipients"][0]["address"].split("@")[1]
        with open(os.path.join(self.root, "control", "virtualdomains")) as f:
            locals_ = f.read().split()
        self.assertIn(domain, locals_ + ["mx.example.test"])

    # ------------------------------------------------------------ logging and resources

    def test_refused_recipients_are_logged_and_bodies_never(self):
        s = self.session()
        self.start_tx(s, rcpts=())
        self.assertTrue(s.cmd("RCPT TO:<nobody@example.test>").startswith("550"))
        self.assertTrue(s.cmd("RCPT TO:<x@remote.test>").startswith("554"))
        self.assertTrue(s.cmd("RCPT TO:<alice@example.test>").startswith("250"))
        self.assertTrue(s.cmd("DATA").startswith("354"))
        self.assertTrue(s.cmd("Subject: SECRET-SUBJECT\r\n\r\nSECRET-BODY\r\n.").startswith("250"))
        self.assertTrue(s.cmd("QUIT").startswith("221"))
        s.close()
        s.log.seek(0)
        raw = s.log.read().decode()
        self.assertNotIn("SECRET", raw)
        logs = [qt.parse_logfmt(l) for l in raw.splitlines()]
        rcpt = [l for l in logs if l.get("event") == "rcpt"]
        self.assertEqual([(l["result"], l["dsn"], l["to"]) for l in rcpt],
                         [("reject", "5.1.1", "<nobody@example.test>"), ("reject", "5.7.1", "<x@remote.test>")])
        end = logs[-1]
        self.assertEqual((end["event"], end["accepted"], end["rcpts_refused"]), ("end", "1", "2"))
        self.assertTrue(all(l["prog"] in ("smtpd", "queue-inject") for l in logs))

    @unittest.skipIf(h.sanitized(), "smtpd built with AddressSanitizer")
    def test_idle_session_stays_small(self):
        s = self.session()
        self.assertTrue(s.cmd("EHLO x").startswith("250"))
        status = open("/proc/%d/status" % s.proc.pid).read()
        anon = int(re.search(r"RssAnon:\s+(\d+) kB", status).group(1))
        self.assertLess(anon, 1024, "an idle session holds %d KiB of anonymous memory" % anon)

    def test_malformed_control_file_gives_421_and_exit_111(self):
        self.control("databytes", "lots")
        s = h.Session(self.root)
        self.sessions.append(s)
        self.assertEqual(s.reply(), "421 4.3.0 temporary configuration error, try again later")
        self.assertTrue(h.wait_gone(s.proc))
        self.assertEqual(s.proc.returncode, 111)
        logs = s.log_lines()
        self.assertIn("databytes", logs[0]["reason"])

    def test_inetd_style_peer_address_from_the_socket(self):
        lst = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(lst.close)
        client = socket.create_connection(lst.getsockname(), timeout=h.TIMEOUT)
        self.addCleanup(client.close)
        conn, _ = lst.accept()
        client_port = client.getsockname()[1]
        env = dict(os.environ, QUAIL_ROOT=self.root)
        for k in ("TCPREMOTEIP", "TCPREMOTEPORT", "TCPLOCALIP", "RELAYCLIENT", "QUEUE_PROGRAM"):
            env.pop(k, None)
        log = tempfile.TemporaryFile()
        p = subprocess.Popen([qt.bin_path("smtpd")], stdin=conn, stdout=conn, stderr=log, env=env)
        conn.close()
        try:
            c = smtplib.SMTP()
            c.sock, c.file = client, None
            self.assertEqual(c.getreply()[0], 220)
            c.sendmail("a@b.test", ["alice@example.test"], b"Subject: inetd\r\n\r\nhi\r\n")
            c.quit()
        finally:
            self.assertTrue(h.wait_gone(p))
        [(_, message, _)] = self.queued()
        self.assertIn(b"([127.0.0.1])", message)
        log.seek(0)
        connect = qt.parse_logfmt(log.read().decode().splitlines()[0])
        self.assertEqual(connect["ip"], "127.0.0.1")
        self.assertEqual(connect["port"], str(client_port))


@unittest.skipIf(qt.missing("tcpserver"), "tcpserver not built")
class OverTcpserver(unittest.TestCase):
    """The same smtpd behind the real tcpserver, with smtplib and swaks as clients."""

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="quail-smtpd-tcp-")
        self.addCleanup(h.rmtree, self.work)
        self.root = h.make_root(self.work)
        self.port = qt.free_port()
        env = dict(os.environ, QUAIL_ROOT=self.root)
        env.pop("RELAYCLIENT", None)
        self.log = tempfile.TemporaryFile()
        self.server = subprocess.Popen([qt.bin_path("tcpserver"), "-c", "5", "127.0.0.1", str(self.port),
                                        qt.bin_path("smtpd")], stdout=subprocess.DEVNULL, stderr=self.log, env=env)
        self.addCleanup(self._stop)

        def up():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False
        qt.wait_for(up, 10, "tcpserver listening")

    def _stop(self):
        self.server.terminate()
        try:
            self.server.wait(10)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()

    def test_smtplib_over_tcp(self):
        with smtplib.SMTP("127.0.0.1", self.port, timeout=h.TIMEOUT) as c:
            code, caps = c.ehlo("client.example.test")
            self.assertEqual(code, 250)
            self.assertTrue(c.has_extn("chunking") and c.has_extn("pipelining") and c.has_extn("smtputf8"))
            c.sendmail("bob@remote.test", ["alice@example.test"], b"Subject: tcp\r\n\r\nover tcp\r\n")
            with self.assertRaises(smtplib.SMTPRecipientsRefused):
                c.sendmail("bob@remote.test", ["victim@remote.test"], b"Subject: relay\r\n\r\nno\r\n")
        qt.wait_for(lambda: len(os.listdir(os.path.join(self.root, "queue", "todo"))) == 1, 10, "one message queued")
        [(_, message, _)] = h.queue_files(self.root)
        self.assertIn(b"([127.0.0.1])", message)

    @unittest.skipIf(not os.access("/usr/bin/swaks", os.X_OK), "swaks not installed")
    def test_swaks_pipelining_and_chunking(self):
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(self.port), "--from", "bob@remote.test",
                            "--to", "alice@example.test", "--pipeline", "--silent", "2",
                            "--header", "Subject: swaks"], capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        qt.wait_for(lambda: len(os.listdir(os.path.join(self.root, "queue", "todo"))) == 1, 10, "one message queued")


if __name__ == "__main__":
    unittest.main()
