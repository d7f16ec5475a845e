"""Open-relay tests (the classic list of address forms that fooled relays of the
1990s: percent hack, bang paths, source routes, quoted local parts holding an @,
address literals, our own name in odd spellings) and header injection through
envelope addresses and DSN parameters.

Relay: a client with no relay rights (no RELAYCLIENT, no AUTH) gives each form
as the recipient and, when it is taken, sends the message. A try succeeds when a
recipient that is not one of our own mailboxes reaches the queue.
Header injection: CR, LF and NUL hidden in HELO, MAIL, RCPT and the xtext of
ENVID, ORCPT and AUTH=, and in what a web form hands sendmail(1) (-f, -F,
recipients); a try succeeds when a line "X-Injected:" appears in the header of
a queued message or of a delivery notice (headers_dsn), or a recipient is added.
"""
import os
import subprocess

import attack_lib as al

OURS = {al.ALICE, al.BOB, "postmaster@" + al.DOMAIN}

# (sender, recipient as written after "RCPT TO:"): the victim is at remote.test.
RELAY_FORMS = [
    ("spam@evil.test", "<victim@remote.test>"),
    ("alice@example.test", "<victim@remote.test>"),
    ("postmaster@example.test", "<victim@remote.test>"),
    ("", "<victim@remote.test>"),
    ("spam@evil.test", "<victim%remote.test@example.test>"),
    ("spam@evil.test", "<victim%remote.test@mx.example.test>"),
    ("spam@evil.test", "<victim%remote.test@[127.0.0.1]>"),
    ("spam@evil.test", "<victim%remote.test@[192.0.2.1]>"),
    ("spam@evil.test", "<victim%remote.test%example.test@example.test>"),
    ("spam@evil.test", "<victim%remote.test>"),
    ("spam@evil.test", "<\"victim@remote.test\"@example.test>"),
    ("spam@evil.test", "<\"victim%remote.test\"@example.test>"),
    ("spam@evil.test", "<\"victim@remote.test\">"),
    ("spam@evil.test", "<victim\\@remote.test@example.test>"),
    ("spam@evil.test", "<victim@remote.test@example.test>"),
    ("spam@evil.test", "<victim@remote.test>@example.test"),
    ("spam@evil.test", "<@example.test:victim@remote.test>"),
    ("spam@evil.test", "<@example.test,@mx.example.test:victim@remote.test>"),
    ("spam@evil.test", "<@mx.example.test:victim%remote.test@example.test>"),
    ("spam@evil.test", "<remote.test!victim@example.test>"),
    ("spam@evil.test", "<remote.test!victim>"),
    ("spam@evil.test", "<remote.test!victim%example.test@example.test>"),
    ("spam@evil.test", "<example.test!remote.test!victim@example.test>"),
    ("spam@evil.test", "<victim@[192.0.2.9]>"),
    ("spam@evil.test", "<victim@[127.0.0.1]>"),
    ("spam@evil.test", "<victim@[IPv6:::1]>"),
    ("spam@evil.test", "<victim@localhost>"),
    ("spam@evil.test", "<victim@example.test.remote.test>"),
    ("spam@evil.test", "<victim@xexample.test>"),
    ("spam@evil.test", "<victim@example.test.>"),
    ("spam@evil.test", "<victim@remote.test.>"),
    ("spam@evil.test", "<victim@EXAMPLE.TEST.remote.test>"),
    ("spam@evil.test", "<victim(comment)@remote.test>"),
    ("spam@evil.test", "<victim@remote.test(example.test)>"),
    ("spam@evil.test", "< victim@remote.test >"),
    ("spam@evil.test", "victim@remote.test"),
    ("spam@evil.test", "<victim@remote.test> NOTIFY=NEVER"),
    ("spam@evil.test", "<postmaster%remote.test@example.test>"),
    ("spam@evil.test", "<\"postmaster@remote.test\"@example.test>"),
    ("spam@evil.test", "<alice%remote.test@example.test>"),
    ("spam@evil.test", "<alice-victim%remote.test@example.test>"),
    ("spam@evil.test", "<victim@remote.test\x00@example.test>"),
    ("spam@evil.test", "<victim@remote.test\r@example.test>"),
    ("spam@evil.test", "<victim@r\xc3\xa9mote.test>"),
]
RELAY_SUBSET = (0, 4, 10, 16, 19, 23, 35, 38)
HELOS = ("outside.test", "mx.example.test", "localhost", "[127.0.0.1]")


def _relay_try(root, sender, rcpt, helo):
    s = al.session(root)
    try:
        s.reply()
        s.cmd("EHLO " + helo)
        s.cmd("MAIL FROM:<%s>" % sender)
        s.send(b"RCPT TO:" + rcpt.encode("latin-1") + b"\r\n")
        r = s.reply()
        if r.startswith("2"):
            if s.cmd("DATA").startswith("354"):
                s.send(b"Subject: relay test\r\n\r\nrelay test\r\n.\r\n")
                s.reply()
        s.send(b"QUIT\r\n")
        al.recv_until(s.sock, b"221 ", timeout=10)
    finally:
        s.close()
    for _, env in al.queued(root):
        foreign = [x["address"] for x in env["recipients"] if x["address"].lower() not in OURS]
        if foreign:
            return "queued for %s (RCPT answered %r)" % (foreign, r[:60])
    return ""


def relay(work, tally, full):
    for helo in HELOS if full else HELOS[:1]:
        for i, (sender, rcpt) in enumerate(RELAY_FORMS):
            if not full and i not in RELAY_SUBSET:
                continue
            detail = _relay_try(work.fresh(), sender, rcpt, helo)
            tally.record("open-relay", "HELO %s RCPT TO:%r" % (helo, rcpt), bool(detail), detail)


# ---------------------------------------------------------------- header injection

INJ = "X-Injected: yes"
# (name, the commands of one transaction; each a line sent with CRLF appended)
HEADER_TRIES = [
    ("HELO bare CR", ["EHLO evil.test\r" + INJ]),
    ("HELO NUL", ["EHLO evil.test\x00" + INJ]),
    ("HELO bare LF", ["EHLO evil.test\n" + INJ]),
    ("HELO long", ["EHLO " + "a" * 2000 + "\r" + INJ]),
    ("MAIL quoted CR", ["MAIL FROM:<\"x\r" + INJ + "\"@evil.test>"]),
    ("MAIL quoted-pair CR LF", ["MAIL FROM:<\"x\\\r\\\n" + INJ + "\"@evil.test>"]),
    ("MAIL bare LF", ["MAIL FROM:<x\n" + INJ + "@evil.test>"]),
    ("MAIL NUL", ["MAIL FROM:<x\x00" + INJ + "@evil.test>"]),
    ("RCPT quoted CR", ["RCPT TO:<\"alice\r" + INJ + "\"@example.test>"]),
    ("RCPT quoted-pair LF", ["RCPT TO:<\"alice\\\n" + INJ + "\"@example.test>"]),
    ("ENVID xtext CRLF", ["MAIL FROM:<x@evil.test> ENVID=a+0D+0AX-Injected:+20yes"]),
    ("ENVID raw CR", ["MAIL FROM:<x@evil.test> ENVID=a\rX-Injected:yes"]),
    ("AUTH= xtext CRLF", ["MAIL FROM:<x@evil.test> AUTH=a+0D+0AX-Injected:+20yes@evil.test"]),
    ("ORCPT xtext CRLF", ["RCPT TO:<alice@example.test> NOTIFY=SUCCESS ORCPT=rfc822;a+0D+0AX-Injected:+20yes"]),
    ("ORCPT raw LF", ["RCPT TO:<alice@example.test> ORCPT=rfc822;a\nX-Injected:yes"]),
    ("SIZE CRLF", ["MAIL FROM:<x@evil.test> SIZE=10\r\n" + INJ]),
    ("BODY junk", ["MAIL FROM:<x@evil.test> BODY=8BITMIME\r" + INJ]),
    ("SMTPUTF8 address LS", ["MAIL FROM:<x\u2028" + INJ + "@evil.test> SMTPUTF8"]),
]


def _injected(data):
    head = data.split(b"\n\n", 1)[0]
    return any(line.lower().startswith(b"x-injected") for line in head.replace(b"\r", b"\n").split(b"\n"))


def _drain(s):
    """Everything smtpd says up to the reply to a NOOP: replies never misalign."""
    s.send(b"NOOP\r\n")
    return al.recv_until(s.sock, b"250 2.0.0 ok\r\n", timeout=10)


def _header_try(root, steps):
    s = al.session(root, remote_ip="127.0.0.1", env={"RELAYCLIENT": ""})
    try:
        s.reply()
        verbs = [st[:4].upper() for st in steps]
        if "EHLO" not in verbs:
            s.cmd("EHLO client.test")
        if "MAIL" not in verbs:
            s.cmd("MAIL FROM:<x@evil.test>")
        for st in steps:
            s.send(st.encode("utf-8") + b"\r\n")
            _drain(s)
        if "RCPT" not in verbs:
            # A second MAIL is refused when the injected one was taken (the transaction
            # stays), and opens one when it was refused.
            s.send(b"MAIL FROM:<x@evil.test>\r\n")
            s.send(b"RCPT TO:<alice@example.test>\r\n")
            _drain(s)
        if s.cmd("DATA").startswith("354"):
            s.send(b"Subject: header test\r\n\r\nbody\r\n.\r\n")
            s.reply()
        s.send(b"QUIT\r\n")
        al.recv_until(s.sock, b"221 ", timeout=10)
    finally:
        s.close()
    for msg, env in al.queued(root):
        if _injected(msg):
            return "queued message header holds X-Injected: %r" % msg.split(b"\n\n")[0][:300]
        for v in [env["sender"]] + [r["address"] for r in env["recipients"]] + list(env["ext"].values()):
            if v and any(c in v for c in "\r\n\0"):
                return "envelope holds a line break: %r" % v
    return ""


def headers(work, tally, full):
    root = work.fresh()
    for name, steps in HEADER_TRIES:
        if not full and name not in ("HELO bare CR", "MAIL quoted CR", "ENVID xtext CRLF", "ORCPT xtext CRLF"):
            continue
        detail = _header_try(root, steps)
        _clear_queue(root)
        tally.record("header-injection", name, bool(detail), detail)


def _clear_queue(root):
    d = os.path.join(root, "queue", "todo")
    for n in os.listdir(d):
        os.unlink(os.path.join(d, n))


def headers_dsn(work, tally, full):
    """ENVID and ORCPT carrying an encoded CRLF reach a delivery notice that
    queue-send writes (NOTIFY=SUCCESS): a running instance, the DSN read from
    the sender's Maildir."""
    q = al.qt.Instance(prefix="quail-attacks-dsn-")
    try:
        q.init("mx.example.test", ["example.test"])
        q.add_user(al.ALICE, al.PASSWORD)
        q.add_user(al.BOB, al.PASSWORD)
        q.up(env={"QUAIL_RETRY_SCALE": "100"})
        tries = [
            ("ENVID and ORCPT xtext CRLF", b"Xenvid=a+0D+0AX-Injected:+20yes\0",
             b"Xorcpt=rfc822;a+0D+0AX-Injected:+20yes\0"),
            ("ORCPT utf-8 xtext LF", b"", b"Xorcpt=utf-8;a\\x{A}X-Injected:\\x{20}yes\0"),
            ("ENVID xtext NUL CR", b"Xenvid=a+00+0DX-Injected:+20yes\0", b""),
        ]
        for i, (name, msg_keys, rcpt_keys) in enumerate(tries):
            env = (b"F" + al.BOB.encode() + b"\0" + msg_keys + b"T" + al.ALICE.encode() + b"\0Xnotify=SUCCESS\0" +
                   rcpt_keys + b"\0")
            before = q.maildir_count(al.BOB)
            code, err = q.queue_inject(b"Subject: dsn %d\n\nbody\n" % i, env)
            if code != 0:
                tally.record("header-injection", "DSN: " + name, False, "refused by queue-inject: exit %d" % code)
                continue
            al.qt.wait_for(lambda: q.maildir_count(al.BOB) > before, 60, "the delivery notice")
            dsn = q.maildir_messages(al.BOB)[-1]
            lines = dsn.replace(b"\r", b"\n").split(b"\n")
            hit = [ln for ln in lines if ln.lower().startswith(b"x-injected")]
            tally.record("header-injection", "DSN: " + name, bool(hit), "the notice holds %r" % hit[:2] if hit else "")
    finally:
        q.cleanup()


# What a web form hands to sendmail(1) (the PHP mail() -f/-F class): an address
# or a name with a line break in it must not become a header or a recipient.
SENDMAIL_TRIES = [
    ("-F name with LF", ["-F", "Alice\n" + INJ, al.ALICE]),
    ("-F name with CR LF", ["-F", "Alice\r\n" + INJ, al.ALICE]),
    ("-F name with CR", ["-F", "Alice\r" + INJ, al.ALICE]),
    ("-f sender with LF", ["-f", "x@evil.test\n" + INJ, al.ALICE]),
    ("-f sender with CR LF Bcc", ["-f", "x@evil.test\r\nBcc: victim@remote.test", al.ALICE]),
    ("recipient with LF", [al.ALICE + "\n" + INJ]),
    ("recipient with LF Bcc", [al.ALICE + "\nBcc: victim@remote.test"]),
    ("-V envid with LF", ["-V", "a\n" + INJ, al.ALICE]),
    ("-N notify with LF", ["-N", "SUCCESS\n" + INJ, al.ALICE]),
]


def headers_sendmail(work, tally, full):
    root = work.fresh()
    env = dict(os.environ, QUAIL_ROOT=root, USER="alice", LOGNAME="alice")
    for name, args in SENDMAIL_TRIES:
        if not full and name not in ("-F name with LF", "recipient with LF Bcc"):
            continue
        subprocess.run([al.qt.bin_path("sendmail")] + args, input=b"Subject: form\n\nhello\n", env=env,
                       capture_output=True, timeout=60)
        detail = ""
        for msg, e in al.queued(root):
            rcpts = [r["address"] for r in e["recipients"]]
            if _injected(msg):
                detail = "queued message header holds X-Injected: %r" % msg.split(b"\n\n")[0][-200:]
            elif any("remote.test" in r for r in rcpts):
                detail = "a Bcc recipient was added: %r" % rcpts
            elif any(c in (v or "") for v in [e["sender"]] + rcpts for c in "\r\n"):
                detail = "envelope holds a line break"
        _clear_queue(root)
        tally.record("header-injection", "sendmail " + name, bool(detail), detail)


def _rcpt_through(port, src, host="127.0.0.1"):
    """The reply to RCPT TO:<victim@remote.test> from src through tcpserver."""
    import socket
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(20)
    try:
        s.bind((src, 0))
        s.connect((host, port))
        al.recv_until(s, b"\r\n")
        s.sendall(b"EHLO client.test\r\n")
        al.recv_until(s, b"\r\n250 ")
        s.sendall(b"MAIL FROM:<spam@evil.test>\r\nRCPT TO:<victim@remote.test>\r\n")
        replies = al.recv_until(s, b"\r\n", timeout=20)
        while replies.count(b"\r\n") < 2:
            more = al.recv_until(s, b"\r\n", timeout=20)
            if not more:
                break
            replies += more
        s.sendall(b"QUIT\r\n")
        return replies.split(b"\r\n")[1].decode(errors="replace")
    finally:
        s.close()


def relay_rules(work, tally, full):
    """quail init's rules give relay rights to 127.0.0.1 and ::1 only: through
    tcpserver, neighbours of those addresses (a prefix that is not one) and
    other loopback addresses must get none."""
    q = al.qt.Instance(prefix="quail-attacks-rules-")
    try:
        q.init("mx.example.test", ["example.test"])
        port = al.qt.free_port()
        q.up(smtp="127.0.0.1:%d" % port)
        al.qt.wait_for(lambda: _try_connect(port), 30, "smtpd listening")
        control = _rcpt_through(port, "127.0.0.1")
        if not control.startswith("250"):
            tally.record("open-relay", "control: 127.0.0.1 relays", True, "refused: %r" % control)
        sources = [("127.0.0.10", "127.0.0.1"), ("127.0.0.100", "127.0.0.1"), ("127.0.0.2", "127.0.0.1"),
                   ("127.1.0.1", "127.0.0.1"), ("127.0.0.11", "127.0.0.1")]
        for src, host in sources if full else sources[:2]:
            r = _rcpt_through(port, src, host)
            tally.record("open-relay", "through tcpserver from %s" % src, r.startswith("2"), r)
    finally:
        q.cleanup()


def _try_connect(port):
    import socket
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False
