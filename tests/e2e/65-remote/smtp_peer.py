"""smtp_peer: a scriptable SMTP server for remote-deliver's tests (python stdlib).

    peer = Peer(ehlo=["PIPELINING", "8BITMIME", "DSN"], rcpt=lambda a: "250 ok")
    peer.start(); ... peer.stop()

Each connection is served by a thread; what the client did is recorded in
peer.sessions (one dict per connection: commands, transactions, tls). Behaviour
is set per instance and may be changed between connections: the EHLO keywords,
a reply per recipient, the reply after data, a recipient limit per transaction,
dropping the connection in the middle of DATA, closing it after each message
(as a peer's idle timeout would, with a 421 first), STARTTLS with an ssl context.
"""
import base64
import socket
import threading


class Peer:
    def __init__(self, host="127.0.0.1", port=0, ehlo=("PIPELINING", "8BITMIME", "SIZE 52428800"),
                 rcpt=None, data_reply="250 2.0.0 queued as 1", max_rcpt=0, drop_in_data=False,
                 tls_context=None, greeting="220 peer.test ESMTP scriptable peer", name="peer.test",
                 login=None, close_after_data=False):
        self.ehlo = None if ehlo is None else list(ehlo)  # None: EHLO is refused (an RFC 821 server)
        self.rcpt = rcpt or (lambda addr: "250 2.1.5 ok")
        self.data_reply = data_reply
        self.max_rcpt = max_rcpt
        self.drop_in_data = drop_in_data
        self.close_after_data = close_after_data
        self.tls_context = tls_context
        self.greeting = greeting
        self.name = name
        self.login = login  # (user, password) accepted by AUTH PLAIN and LOGIN
        self.logins = []    # (user, password) of every AUTH attempt
        self.sessions = []
        self.lock = threading.Lock()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.stopped = False

    def start(self):
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self):
        self.stopped = True
        try:
            # shutdown first: close alone leaves a thread blocked in accept() on
            # the socket, and a later peer's socket could take its descriptor
            # number (the crash matrix saw a stopped peer answer for a new one).
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass

    # what the peer saw
    def transactions(self):
        with self.lock:
            return [t for s in self.sessions for t in s["transactions"]]

    def messages(self):
        """(mail from, [rcpt], data bytes with CRLF, dot-stuffing undone) of every accepted message."""
        return [(t["mail"], t["rcpts"], t["data"]) for t in self.transactions() if t.get("accepted")]

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        session = {"commands": [], "transactions": [], "tls": False}
        with self.lock:
            self.sessions.append(session)
        conn.settimeout(60)
        # Replies go out one write each: without this, Nagle holds each one until the
        # client's delayed ACK (40 ms) of the one before.
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._dialogue(conn, session)
        except (OSError, ValueError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _dialogue(self, conn, session):
        f = conn.makefile("rb")

        def send(text):
            conn.sendall(text.encode() + b"\r\n")

        if self.greeting is None:  # a host that accepts and never speaks
            f.readline(4096)
            return
        send(self.greeting)
        txn = None
        while True:
            line = f.readline(4096)
            if not line:
                return
            cmd = line.rstrip(b"\r\n").decode("utf-8", "replace")
            session["commands"].append(cmd)
            verb = cmd.split(" ", 1)[0].upper()
            if verb == "EHLO" and self.ehlo is None:
                send("502 5.5.2 EHLO not implemented")
            elif verb == "EHLO":
                keys = [k for k in self.ehlo if k != "STARTTLS" or (self.tls_context and not session["tls"])]
                lines = [self.name] + keys
                send("\r\n".join("250%s%s" % ("-" if i < len(lines) - 1 else " ", l) for i, l in enumerate(lines)))
            elif verb == "HELO":
                send("250 " + self.name)
            elif verb == "STARTTLS" and self.tls_context and not session["tls"]:
                send("220 2.0.0 go ahead")
                conn = self.tls_context.wrap_socket(conn, server_side=True)
                session["tls"] = True
                f = conn.makefile("rb")
            elif verb == "AUTH" and self.login:
                parts = cmd.split()
                mech = parts[1].upper() if len(parts) > 1 else ""
                if mech == "PLAIN":
                    raw = base64.b64decode(parts[2]) if len(parts) > 2 else b""
                    _, user, password = (raw.split(b"\0") + [b"", b""])[:3]
                elif mech == "LOGIN":
                    send("334 VXNlcm5hbWU6")
                    user = base64.b64decode(f.readline(4096).strip())
                    send("334 UGFzc3dvcmQ6")
                    password = base64.b64decode(f.readline(4096).strip())
                else:
                    send("504 5.5.4 unknown mechanism")
                    continue
                self.logins.append((user.decode(), password.decode()))
                ok = (user.decode(), password.decode()) == tuple(self.login)
                send("235 2.7.0 ok" if ok else "535 5.7.8 bad credentials")
            elif verb == "MAIL":
                txn = {"mail": cmd, "rcpts": [], "rcpt_commands": [], "data": b"", "accepted": False}
                session["transactions"].append(txn)
                send("250 2.1.0 ok")
            elif verb == "RCPT":
                if txn is None:
                    send("503 5.5.1 MAIL first")
                    continue
                addr = cmd[cmd.index("<") + 1:cmd.index(">")]
                txn["rcpt_commands"].append(cmd)
                if self.max_rcpt and len(txn["rcpts"]) >= self.max_rcpt:
                    send("452 4.5.3 too many recipients")
                    continue
                reply = self.rcpt(addr)
                if reply.startswith("2"):
                    txn["rcpts"].append(addr)
                send(reply)
            elif verb == "DATA":
                if txn is None or not txn["rcpts"]:
                    send("554 5.5.1 no valid recipients")
                    continue
                send("354 go ahead")
                data = []
                while True:
                    l = f.readline(1 << 20)
                    if not l:
                        return
                    if self.drop_in_data and len(data) >= 2:
                        conn.shutdown(socket.SHUT_RDWR)
                        return
                    if l == b".\r\n":
                        break
                    data.append(l[1:] if l.startswith(b".") else l)
                txn["data"] = b"".join(data)
                reply = self.data_reply(txn) if callable(self.data_reply) else self.data_reply
                txn["accepted"] = reply.startswith("2")
                send(reply)
                txn = None
                if self.close_after_data:
                    send("421 4.4.2 peer.test closing an idle connection")
                    return
            elif verb == "RSET":
                txn = None
                send("250 2.0.0 ok")
            elif verb == "NOOP":
                send("250 2.0.0 ok")
            elif verb == "QUIT":
                send("221 2.0.0 bye")
                return
            else:
                send("502 5.5.2 not implemented")
