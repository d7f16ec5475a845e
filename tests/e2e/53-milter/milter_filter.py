#!/usr/bin/python3
"""A small milter for quail's e2e tests, on Debian's python3-milter (pymilter).

    milter_filter.py MODE SOCKET     SOCKET: unix:/path or inet:PORT@127.0.0.1

MODE:
  modify    at end of message: adds X-Test-Milter, tags Subject, deletes
            X-Remove-Me, replaces the body when it holds REPLACE-BODY, adds a
            recipient named in an X-Add-Rcpt header; refuses RCPT to
            <bob@...> from <block-rcpt@...> with 550 5.7.1
  reject    refuses every message at end of message: 550 5.7.1
  tempfail  defers every message at end of message: 451 4.7.1
  hang      never answers end of message
  discard   discards every message
  quarantine  quarantines every message ("held by the test milter")
  pass      sees every header and the body, changes nothing (bench/milter_cost.py)
"""
import sys
import time

import Milter


class TestMilter(Milter.Base):
    mode = "modify"

    def __init__(self):
        self.fields = []
        self.chunks = []
        self.sender = ""

    def envfrom(self, sender, *params):
        self.sender = sender.lower()
        self.fields, self.chunks = [], []
        return Milter.CONTINUE

    def envrcpt(self, to, *params):
        if self.mode == "modify" and self.sender.startswith("<block-rcpt@") and to.lower().startswith("<bob@"):
            self.setreply("550", "5.7.1", "recipient blocked by the test milter")
            return Milter.REJECT
        return Milter.CONTINUE

    def header(self, name, value):
        self.fields.append((name, value))
        return Milter.CONTINUE

    def body(self, chunk):
        self.chunks.append(chunk)
        return Milter.CONTINUE

    def eom(self):
        if self.mode == "reject":
            self.setreply("550", "5.7.1", "rejected by the test milter")
            return Milter.REJECT
        if self.mode == "tempfail":
            self.setreply("451", "4.7.1", "test milter says later")
            return Milter.TEMPFAIL
        if self.mode == "hang":
            time.sleep(3600)
            return Milter.CONTINUE
        if self.mode == "discard":
            return Milter.DISCARD
        if self.mode == "pass":
            return Milter.ACCEPT
        if self.mode == "quarantine":
            self.quarantine("held by the test milter")
            return Milter.ACCEPT
        self.addheader("X-Test-Milter", "seen by the test milter")
        for name, value in self.fields:
            if name.lower() == "subject":
                self.chgheader("Subject", 1, "[tagged] " + value)
            if name.lower() == "x-remove-me":
                self.chgheader("X-Remove-Me", 1, "")
            if name.lower() == "x-add-rcpt":
                self.addrcpt("<%s>" % value.strip())
        if b"REPLACE-BODY" in b"".join(self.chunks):
            self.replacebody(b"the body the test milter wrote\r\n")
        return Milter.ACCEPT


def main():
    mode, socket = sys.argv[1], sys.argv[2]
    TestMilter.mode = mode
    Milter.factory = TestMilter
    Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.CHGBODY | Milter.ADDRCPT | Milter.QUARANTINE)
    Milter.runmilter("quail-test-" + mode, socket, 60)


if __name__ == "__main__":
    main()
