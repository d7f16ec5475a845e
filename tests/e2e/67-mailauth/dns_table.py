"""dns_table: a DNS server on 127.0.0.1 (UDP and TCP, a free port) answering from
a Python table, with python3-dnslib: any record type, names that answer SERVFAIL,
names that never answer (a timeout).

    table = {"ex.test": [("TXT", "v=spf1 -all"), ("A", "192.0.2.1")], ...}
    server = TableDns(table, servfail={"broken.test"}, silent={"slow.test"}).start()
    ... server.port ... server.stop()

A name in the table without records of the asked type answers NOERROR with no
records (nodata); a name not in the table NXDOMAIN.
"""
import threading
import time

from dnslib import AAAA, MX, PTR, QTYPE, RCODE, RR, TXT, A, DNSRecord
from dnslib.server import BaseResolver, DNSServer

_RDATA = {"A": A, "AAAA": AAAA, "PTR": PTR, "TXT": None, "MX": None}


def _txt(value):
    # Strings over 255 bytes are split into character-strings, as zone files do.
    chunks = [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
    return TXT([c.encode() for c in chunks])


class _Resolver(BaseResolver):
    def __init__(self, table, servfail, silent):
        self.table = {k.lower().rstrip("."): v for k, v in table.items()}
        self.servfail = {n.lower() for n in servfail}
        self.silent = {n.lower() for n in silent}
        self.queries = []

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).lower().rstrip(".")
        qtype = QTYPE[request.q.qtype]
        self.queries.append((name, qtype))
        if name in self.silent:
            time.sleep(60)  # longer than any client waits
            return reply
        if name in self.servfail:
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        if name not in self.table:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        for rtype, value in self.table[name]:
            if rtype != qtype:
                continue
            if rtype == "TXT":
                rdata = _txt(value)
            elif rtype == "MX":
                pref, host = value
                rdata = MX(host, pref)
            else:
                rdata = _RDATA[rtype](value)
            reply.add_answer(RR(request.q.qname, getattr(QTYPE, rtype), rdata=rdata, ttl=60))
        return reply


class _QuietLogger:
    def __getattr__(self, _name):
        return lambda *a, **k: None


class TableDns:
    def __init__(self, table, servfail=(), silent=()):
        self.resolver = _Resolver(table, servfail, silent)
        self.servers = []
        self.port = None

    def start(self):
        for _ in range(10):
            udp = DNSServer(self.resolver, port=0, address="127.0.0.1", logger=_QuietLogger())
            port = udp.server.server_address[1]
            try:
                tcp = DNSServer(self.resolver, port=port, address="127.0.0.1", tcp=True, logger=_QuietLogger())
            except OSError:
                udp.server.server_close()
                continue
            self.servers = [udp, tcp]
            self.port = port
            for s in self.servers:
                s.start_thread()
            return self
        raise AssertionError("no free port for the test DNS server")

    def stop(self):
        for s in self.servers:
            s.stop()
            s.server.server_close()


def ask(port, name, qtype="A", timeout=5):
    """One query to the server (for readiness checks)."""
    q = DNSRecord.question(name, qtype)
    return DNSRecord.parse(q.send("127.0.0.1", port, timeout=timeout))
