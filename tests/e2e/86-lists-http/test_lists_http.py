"""86-lists-http: RFC 8058 one-click unsubscription (issue 12) with real processes:
`quail init`, `quail up --lists-http` (tcpserver, tlsd, list-httpd), a list with
--one-click, subscribers that are virtual users, and Python's http.client over TLS.

Each subscriber's copy of a post carries its own URL; a GET of it shows a page and
changes nothing; a POST of List-Unsubscribe=One-Click (form-urlencoded, or
multipart/form-data) unsubscribes that subscriber, and the next post no longer
reaches them; an altered URL changes nothing (list-manage finds its cookie
forged), and a URL that does not name a list of this host is 404; malformed
requests get their 4xx.
"""
import email
import email.policy
import http.client
import os
import pwd
import re
import socket
import ssl
import time
import unittest
import urllib.parse

import quailtest as qt

qt.require("quail", "quail-list", "list-post", "list-manage", "list-httpd", "tlsd", "tcpserver", "sendmail")

D = "example.test"
SUBSCRIBERS = ("bob", "carol", "dave")
FORM = "application/x-www-form-urlencoded"


def parse(data):
    return email.message_from_bytes(data, policy=email.policy.default)


class ListsHttp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.q = qt.Instance(prefix="quail-lists-http-")
        try:
            cls.q.init("mx." + D, [D])
            for u in ("alice",) + SUBSCRIBERS:
                cls.q.add_user(u + "@" + D)
            cls.port = qt.free_port()
            cls.base = "https://127.0.0.1:%d/lists" % cls.port
            cls.q.write_control("listsurl", cls.base)
            cls.q.up(env={"QUAIL_RETRY_SCALE": "100"}, lists_http="127.0.0.1:%d" % cls.port)
        except BaseException:
            cls.q.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()

    # -- helpers
    def context(self):
        """Trusts quail init's self-signed certificate, and only it."""
        ctx = ssl.create_default_context(cafile=self.q.path("control", "tls", "cert.pem"))
        ctx.check_hostname = False  # the certificate names mx.example.test; we dial 127.0.0.1
        return ctx

    def request(self, method, target, body=None, headers=None):
        c = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context(), timeout=30)
        try:
            c.request(method, target, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.read().decode("utf-8", "replace")
        finally:
            c.close()

    def raw(self, data):
        """Bytes over TLS as they are; the status code of the answer (0 for none)."""
        got = b""
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as s:
            with self.context().wrap_socket(s) as t:
                try:
                    t.sendall(data)
                    while True:
                        chunk = t.recv(4096)
                        if not chunk:
                            break
                        got += chunk
                except (ConnectionError, ssl.SSLError):
                    pass  # the server answers and closes before reading all of an oversized request
        m = re.match(rb"HTTP/1\.1 (\d{3}) ", got)
        return int(m.group(1)) if m else 0

    def create(self, name):
        r = self.q.quail("list", "create", "alice-%s@%s" % (name, D), "--one-click")
        self.assertIn("created", r.out)
        self.assertIn("\none-click yes\n", self.q.quail("list", "show", "alice-%s@%s" % (name, D)).out)
        self.q.quail("list", "add", "alice-%s@%s" % (name, D), *["%s@%s" % (u, D) for u in SUBSCRIBERS])

    def subscribers(self, name):
        return self.q.quail("list", "subscribers", "alice-%s@%s" % (name, D)).out.split()

    def post(self, name, subject):
        msg = "From: <alice@%s>\nTo: <alice-%s@%s>\nSubject: %s\n\ntext\n" % (D, name, D, subject)
        r = self.q.sendmail(["-f", "alice@" + D, "alice-%s@%s" % (name, D)], msg.encode())
        self.assertEqual(r.returncode, 0, r.err)

    def mails(self, user, subject):
        return [m for m in (parse(d) for d in self.q.maildir_messages(user + "@" + D)) if m["Subject"] == subject]

    def wait_copy(self, user, subject):
        return qt.wait_for(lambda: (self.mails(user, subject) or [None])[0], 60, "%s's copy of %s" % (user, subject))

    def settle(self):
        qt.wait_for(self.q.queue_empty, 60, "an empty queue")

    def url_of(self, copy):
        """The https URL of a copy's List-Unsubscribe, as a request-target."""
        field = str(copy["List-Unsubscribe"])
        m = re.match(r"<(https://[^>]+)>,\s*<mailto:([^>]+)>$", field)
        self.assertIsNotNone(m, field)
        self.assertTrue(m.group(1).startswith(self.base + "/"), m.group(1))
        return urllib.parse.urlsplit(m.group(1)).path, m.group(2)

    def queued_requests(self):
        return sum(1 for e in self.q.log_lines("lists-http") if e.get("event") == "request" and e.get("result") == "queued")

    # -- tests
    def test_a_post_carries_each_subscribers_own_url_and_a_post_to_it_unsubscribes(self):
        self.create("team")
        self.post("team", "first")
        urls = {}
        for u in SUBSCRIBERS:
            copy = self.wait_copy(u, "first")
            self.assertEqual(copy["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
            target, mailto = self.url_of(copy)
            self.assertEqual(mailto, "alice-team-unsubscribe@" + D)
            self.assertTrue(target.endswith("-%s=%s@%s" % (u, D, D)), target)
            self.assertEqual(copy["Return-Path"], "<alice-team-return-1-%s=%s@%s>" % (u, D, D))
            urls[u] = target
        self.assertEqual(len(set(urls.values())), 3, "each subscriber has a URL of their own")
        self.settle()

        # A GET shows the button and changes nothing: no request reaches the queue.
        status, page = self.request("GET", urls["bob"])
        self.assertEqual(status, 200, page)
        self.assertIn('<form method="post">', page)
        self.assertIn('name="List-Unsubscribe" value="One-Click"', page)
        self.assertIn("bob@" + D, page)
        self.assertTrue(self.q.queue_empty())
        self.assertIn("bob@" + D, self.subscribers("team"))

        # The POST a mail provider makes: at once, no confirmation.
        status, page = self.request("POST", urls["bob"], "List-Unsubscribe=One-Click", {"Content-Type": FORM})
        self.assertEqual(status, 200, page)
        qt.wait_for(lambda: "bob@" + D not in self.subscribers("team"), 60, "bob unsubscribed")
        self.assertEqual(sorted(self.subscribers("team")), ["carol@" + D, "dave@" + D])
        qt.wait_for(lambda: self.mails("bob", "goodbye from alice-team@" + D), 60, "bob's goodbye")

        # A multipart/form-data POST (what RFC 8058 asks senders to expect first) works too.
        boundary = "b0undary"
        body = ("--%s\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--%s--\r\n"
                % (boundary, boundary))
        status, page = self.request("POST", urls["dave"], body,
                                    {"Content-Type": "multipart/form-data; boundary=" + boundary})
        self.assertEqual(status, 200, page)
        qt.wait_for(lambda: "dave@" + D not in self.subscribers("team"), 60, "dave unsubscribed")

        # The next post reaches carol only.
        self.post("team", "second")
        self.wait_copy("carol", "second")
        self.settle()
        self.assertEqual(self.mails("bob", "second"), [])
        self.assertEqual(self.mails("dave", "second"), [])

        # Used again, bob's URL does not undo a later subscription (times are in
        # seconds: the subscription is dated a few seconds on, as a later one would be).
        self.q.quail("list", "add", "alice-team@" + D, "bob@" + D,
                     env={"QUAIL_LIST_NOW": str(int(time.time()) + 5)})
        status, _ = self.request("POST", urls["bob"], "List-Unsubscribe=One-Click", {"Content-Type": FORM})
        self.assertEqual(status, 200)
        self.settle()
        self.assertIn("bob@" + D, self.subscribers("team"))

    def test_an_altered_or_foreign_url_changes_nothing(self):
        self.create("club")
        self.post("club", "club post")
        carol, _ = self.url_of(self.wait_copy("carol", "club post"))
        dave, _ = self.url_of(self.wait_copy("dave", "club post"))
        self.settle()
        before = sorted(self.subscribers("club"))
        m = re.match(r"(.*-oc\.)([a-z2-7]{20})(-.*)$", carol)
        self.assertIsNotNone(m, carol)
        cookie = m.group(2)
        flipped = cookie[:-1] + ("a" if cookie[-1] != "a" else "b")
        dave_cookie = re.search(r"-oc\.([a-z2-7]{20})-", dave).group(1)
        # Well-formed but forged: list-httpd cannot check the MAC (it has no list's
        # secret) and queues the request; list-manage refuses it.
        queued = self.queued_requests()
        for target in (m.group(1) + flipped + m.group(3),                      # one character of the MAC
                       m.group(1) + dave_cookie + m.group(3),                  # dave's cookie, carol's address
                       carol.replace("-carol=", "-bob=")):                     # carol's cookie, bob's address
            status, _ = self.request("POST", target, "List-Unsubscribe=One-Click", {"Content-Type": FORM})
            self.assertEqual(status, 200, target)
        # list-httpd logs a request after its answer: wait for the third line.
        qt.wait_for(lambda: self.queued_requests() >= queued + 3, 10, "three queued requests in the log")
        self.assertEqual(self.queued_requests(), queued + 3, "each forged request went to the list")
        self.settle()
        self.assertEqual(sorted(self.subscribers("club")), before)
        self.assertEqual(self.mails("carol", "goodbye from alice-club@" + D), [])
        # Not a one-click URL of a list here: refused at once, nothing queued.
        for target in (carol[:-3],                                              # the domain cut short
                       carol.replace("@" + D, "@elsewhere.test"),               # a domain not ours
                       carol.replace("alice-club-oc.", "alice-nolist-oc."),     # no such list
                       carol.replace("-oc.", "-uc."),                           # a mail cookie, not a URL's
                       carol.replace(cookie, cookie[:19]),                      # a short cookie
                       "/lists/", "/", "/lists/%00"):
            for method, body in (("GET", None), ("POST", "List-Unsubscribe=One-Click")):
                status, page = self.request(method, target, body, {"Content-Type": FORM} if body else {})
                self.assertEqual(status, 404, "%s %s: %s" % (method, target, page))
        self.assertTrue(self.q.queue_empty())
        # The right URL with the wrong body: 400, nothing queued.
        for body, ctype in (("List-Unsubscribe=Yes", FORM), ("", FORM), ("List-Unsubscribe=One-Click", "text/plain")):
            status, _ = self.request("POST", carol, body, {"Content-Type": ctype})
            self.assertEqual(status, 400, (body, ctype))
        self.assertTrue(self.q.queue_empty())
        self.assertEqual(sorted(self.subscribers("club")), before)

    def test_malformed_requests_get_their_4xx_and_the_listener_is_remembered(self):
        cases = [
            (b"GET / HTTP/1.1\r\n\r\n", 400),                                       # no Host
            (b"GET /x HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400),
            (b"GET /x HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", 400),                      # bare LF
            (b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501),
            (b"POST /x HTTP/1.1\r\nHost: a\r\n\r\n", 411),
            (b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 99999\r\n\r\n", 413),
            (b"PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 405),
            (b"GET /x HTTP/3.0\r\nHost: a\r\n\r\n", 505),
            (b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
            (b"GET /x HTTP/1.1\r\nHost: a\r\n" + b"X-Pad: " + b"p" * 9000 + b"\r\n\r\n", 431),
        ]
        for data, status in cases:
            self.assertEqual(self.raw(data), status, data[:60])
        with open(self.q.path("control", "listeners")) as f:
            self.assertIn("lists-http 127.0.0.1:%d\n" % self.port, f.read())
        events = self.q.log_lines("lists-http")
        self.assertTrue(any(e.get("event") == "request" and e.get("status") == "501" for e in events))


@unittest.skipUnless(os.geteuid() == 0, "a system install needs root")
class SystemListsHttp(unittest.TestCase):
    """In a system install list-httpd runs as quail-smtpd, not root, cannot read the
    list (it is in the owner's home), and a POST still unsubscribes: list-manage,
    as the owner, applies it."""

    @classmethod
    def setUpClass(cls):
        qt.require("local-spawn")
        cls.q = qt.Instance(prefix="quail-lists-http-sys-")
        try:
            os.chmod(cls.q.tmp, 0o755)
            cls.q.init(hostname="mx.sys.test", domains=("sys.test",), extra=("--system",))
            for u in ("alice", "bob", "carol"):
                cls.q.add_user(u + "@sys.test")
            cls.port = qt.free_port()
            cls.q.write_control("listsurl", "https://127.0.0.1:%d" % cls.port)
            cls.q.up(lists_http="127.0.0.1:%d" % cls.port)
        except BaseException:
            cls.q.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()

    def test_list_httpd_is_not_root_and_the_list_owner_applies_the_post(self):
        ctx = ssl.create_default_context(cafile=self.q.path("control", "tls", "cert.pem"))
        ctx.check_hostname = False
        # A request half sent keeps list-httpd alive to be looked at.
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as s:
            with ctx.wrap_socket(s) as t:
                t.sendall(b"GET /x HTTP/1.1\r\n")
                pids = qt.wait_for(lambda: qt.processes_under(self.q.root, "list-httpd"), 30, "list-httpd running")
                with open("/proc/%d/status" % pids[0]) as f:
                    uids = [line.split()[1:] for line in f if line.startswith("Uid:")][0]
                self.assertEqual(set(uids), {str(pwd.getpwnam("quail-smtpd").pw_uid)})
                t.sendall(b"Host: x\r\n\r\n")
                self.assertIn(b" 404 ", t.recv(4096))

        self.q.quail("list", "create", "alice-team@sys.test", "--one-click")
        home = self.q.home("alice@sys.test")
        self.assertNotEqual(os.stat(os.path.join(home, "lists", "team", "secret")).st_uid,
                            pwd.getpwnam("quail-smtpd").pw_uid)
        self.q.quail("list", "add", "alice-team@sys.test", "bob@sys.test", "carol@sys.test")
        msg = b"From: <alice@sys.test>\nTo: <alice-team@sys.test>\nSubject: sys post\n\ntext\n"
        r = self.q.sendmail(["-f", "alice@sys.test", "alice-team@sys.test"], msg)
        self.assertEqual(r.returncode, 0, r.err)

        def copy():
            got = [m for m in (parse(d) for d in self.q.maildir_messages("bob@sys.test")) if m["Subject"] == "sys post"]
            return got[0] if got else None
        url = re.match(r"<https://[^/]+(/[^>]+)>", str(qt.wait_for(copy, 60, "bob's copy")["List-Unsubscribe"])).group(1)
        c = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=30)
        c.request("POST", url, body="List-Unsubscribe=One-Click", headers={"Content-Type": FORM})
        self.assertEqual(c.getresponse().status, 200)
        c.close()
        qt.wait_for(lambda: "bob@sys.test" not in self.q.quail("list", "subscribers", "alice-team@sys.test").out.split(),
                    60, "bob unsubscribed")
        self.assertEqual(self.q.quail("list", "subscribers", "alice-team@sys.test").out.split(), ["carol@sys.test"])


if __name__ == "__main__":
    unittest.main()
