"""spf_cases: the DNS table and the checks of the SPF conformance test
(test_spf_conformance.py): every mechanism, modifier and macro of RFC 7208, the
lookup limits, DNS failures and malformed records. Each case has its own domain
so cases do not share lookups. (ip, sender, helo, expect) where expect is the
result both implementations must give (None: only that they agree)."""

# Not 198.18.0.0/24: libunbound answers the documentation ranges' reverse zones
# itself (NXDOMAIN), so their PTR records would never be asked for.
V4, V6 = "198.18.0.10", "2001:db8::10"

TABLE = {
    "pass.test": [("TXT", "v=spf1 +all")],
    "fail.test": [("TXT", "v=spf1 -all")],
    "softfail.test": [("TXT", "v=spf1 ~all")],
    "neutral.test": [("TXT", "v=spf1 ?all")],
    "empty.test": [("TXT", "v=spf1")],
    "norecord.test": [("A", "192.0.2.99"), ("TXT", "not spf")],
    "upper.test": [("TXT", "V=SPF1 IP4:198.18.0.10 -ALL")],
    "ip4.test": [("TXT", "v=spf1 ip4:198.18.0.0/24 -all")],
    "ip4other.test": [("TXT", "v=spf1 ip4:192.0.3.0/24 ip4:10.0.0.1 -all")],
    "ip4zero.test": [("TXT", "v=spf1 ip4:0.0.0.0/0 -all")],
    "ip6.test": [("TXT", "v=spf1 ip6:2001:db8::/32 -all")],
    "a.test": [("TXT", "v=spf1 a -all"), ("A", V4), ("AAAA", "2001:db8::10")],
    "acidr.test": [("TXT", "v=spf1 a:host.acidr.test/24//64 -all")],
    "host.acidr.test": [("A", "198.18.0.200"), ("AAAA", "2001:db8::ffff")],
    "mx.test": [("TXT", "v=spf1 mx -all"), ("MX", (10, "mx1.mx.test")), ("MX", (20, "mx2.mx.test"))],
    "mx1.mx.test": [("A", "198.51.100.1")],
    "mx2.mx.test": [("A", V4)],
    "mxcidr.test": [("TXT", "v=spf1 mx/28 -all"), ("MX", (10, "mx.mxcidr.test"))],
    "mx.mxcidr.test": [("A", "198.18.0.1")],
    "mxmany.test": [("TXT", "v=spf1 mx -all")] + [("MX", (i, "m%d.mxmany.test" % i)) for i in range(11)],
    "nomx.test": [("TXT", "v=spf1 mx:nomx2.test -all")],
    "nomx2.test": [("A", "198.18.0.1")],
    "incpass.test": [("TXT", "v=spf1 include:inner.test -all")],
    "inner.test": [("TXT", "v=spf1 ip4:198.18.0.10 ~all")],
    "incsoft.test": [("TXT", "v=spf1 include:innersoft.test -all")],
    "innersoft.test": [("TXT", "v=spf1 ~all")],
    "incnone.test": [("TXT", "v=spf1 include:nowhere.test -all")],
    "redir.test": [("TXT", "v=spf1 ip4:10.0.0.1 redirect=target.test")],
    "target.test": [("TXT", "v=spf1 ip4:198.18.0.10 -all")],
    "redirnone.test": [("TXT", "v=spf1 redirect=nowhere.test")],
    "redirall.test": [("TXT", "v=spf1 ?all redirect=fail.test")],
    "exists.test": [("TXT", "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all")],
    "10.0.18.198.alice._spf.exists.test": [("A", "127.0.0.2")],
    "ptr.test": [("TXT", "v=spf1 ptr -all")],
    "10.0.18.198.in-addr.arpa": [("PTR", "host.ptr.test")],
    "host.ptr.test": [("A", V4)],
    "ptrother.test": [("TXT", "v=spf1 ptr:elsewhere.test -all")],
    "exp.test": [("TXT", "v=spf1 -all exp=why.%{d}")],
    "why.exp.test": [("TXT", "%{i} is not one of %{d}'s designated mail servers.")],
    "macros.test": [("TXT", "v=spf1 exists:%{o}.%{h}.%{v}.%{d2}.m.test -all")],
    "macros.test.helo.test.in-addr.macros.test.m.test": [("A", "127.0.0.2")],
    "macrorev.test": [("TXT", "v=spf1 exists:%{d2r}.%{l-}.x.test -all")],
    "test.macrorev.a.b.x.test": [("A", "127.0.0.2")],
    "notfirst.test": [("TXT", "v=spf1 -ip4:198.18.0.10 +all")],
    "modifier.test": [("TXT", "v=spf1 foo=bar ip4:198.18.0.10 -all")],
    "long.test": [("TXT", "v=spf1 " + " ".join("ip4:10.0.%d.1" % i for i in range(30)) + " ip4:198.18.0.10 -all")],
    "voids2.test": [("TXT", "v=spf1 a:v1.voids2.test a:v2.voids2.test -all")],
    "voids3.test": [("TXT", "v=spf1 a:v1.voids3.test a:v2.voids3.test a:v3.voids3.test -all")],
    "slow.test": [("TXT", "v=spf1 include:silent.test -all")],
    "servfail.test": [("TXT", "v=spf1 a:broken.test -all")],
    "two.test": [("TXT", "v=spf1 -all"), ("TXT", "v=spf1 +all")],
    "spf10.test": [("TXT", "v=spf10 +all"), ("TXT", "v=spf1 -all")],
    "badip.test": [("TXT", "v=spf1 ip4:1.2.3 -all")],
    "badcidr.test": [("TXT", "v=spf1 ip4:192.0.2.0/33 -all")],
    "badmech.test": [("TXT", "v=spf1 foo:bar -all")],
    "baddomain.test": [("TXT", "v=spf1 a:foo -all")],
    "badmacro.test": [("TXT", "v=spf1 exists:%{x}.test -all")],
    "tworedir.test": [("TXT", "v=spf1 redirect=a.test redirect=fail.test")],
    "allarg.test": [("TXT", "v=spf1 -all:foo")],
    "helo.test": [("TXT", "v=spf1 ip4:198.18.0.10 -all")],
}

# 11 chained includes: the 11th DNS-querying term is one too many; 10 are fine.
for n in range(12):
    TABLE["chain%d.test" % n] = [("TXT", "v=spf1 include:chain%d.test -all" % (n + 1))]
TABLE["chain12.test"] = [("TXT", "v=spf1 +all")]
TABLE["chain2.test"] = [("TXT", "v=spf1 include:chain3.test -all")]
TABLE["ten.test"] = [("TXT", "v=spf1 " + " ".join("a:h%d.ten.test" % i for i in range(9)) + " include:pass.test -all")]
for i in range(9):
    TABLE["h%d.ten.test" % i] = [("A", "10.9.9.%d" % i)]
TABLE["eleven.test"] = [("TXT", "v=spf1 " + " ".join("a:h%d.ten.test" % i for i in range(9)) +
                         " a:h8.ten.test include:pass.test -all")]

SILENT = {"silent.test"}
SERVFAIL = {"broken.test"}

CASES = [
    (V4, "alice@pass.test", "helo.test", "pass"),
    (V4, "alice@fail.test", "helo.test", "fail"),
    (V4, "alice@softfail.test", "helo.test", "softfail"),
    (V4, "alice@neutral.test", "helo.test", "neutral"),
    (V4, "alice@empty.test", "helo.test", "neutral"),
    (V4, "alice@norecord.test", "helo.test", "none"),
    (V4, "alice@nxdomain.test", "helo.test", "none"),
    (V4, "alice@upper.test", "helo.test", "pass"),
    (V4, "alice@ip4.test", "helo.test", "pass"),
    (V4, "alice@ip4other.test", "helo.test", "fail"),
    (V4, "alice@ip4zero.test", "helo.test", "pass"),
    (V6, "alice@ip6.test", "helo.test", "pass"),
    (V4, "alice@ip6.test", "helo.test", "fail"),
    (V4, "alice@a.test", "helo.test", "pass"),
    (V6, "alice@a.test", "helo.test", "pass"),
    (V4, "alice@acidr.test", "helo.test", "pass"),
    (V6, "alice@acidr.test", "helo.test", "pass"),
    (V4, "alice@mx.test", "helo.test", "pass"),
    (V6, "alice@mx.test", "helo.test", "fail"),
    (V4, "alice@mxcidr.test", "helo.test", "pass"),
    (V4, "alice@mxmany.test", "helo.test", "permerror"),
    (V4, "alice@nomx.test", "helo.test", "fail"),
    (V4, "alice@incpass.test", "helo.test", "pass"),
    (V4, "alice@incsoft.test", "helo.test", "fail"),
    (V4, "alice@incnone.test", "helo.test", "permerror"),
    (V4, "alice@redir.test", "helo.test", "pass"),
    ("192.0.2.11", "alice@redir.test", "helo.test", "fail"),
    (V4, "alice@redirnone.test", "helo.test", "permerror"),
    (V4, "alice@redirall.test", "helo.test", "neutral"),
    (V4, "alice@exists.test", "helo.test", "pass"),
    (V4, "bob@exists.test", "helo.test", "fail"),
    (V4, "alice@ptr.test", "helo.test", "pass"),
    (V4, "alice@ptrother.test", "helo.test", "fail"),
    (V4, "alice@exp.test", "helo.test", "fail"),
    (V4, "alice@macros.test", "helo.test", "pass"),
    (V4, "a-b@macrorev.test", "helo.test", "pass"),
    (V4, "alice@notfirst.test", "helo.test", "fail"),
    (V4, "alice@modifier.test", "helo.test", "pass"),
    (V4, "alice@long.test", "helo.test", "pass"),
    (V4, "alice@voids2.test", "helo.test", "fail"),
    (V4, "alice@voids3.test", "helo.test", "permerror"),
    (V4, "alice@chain2.test", "helo.test", "pass"),
    (V4, "alice@chain0.test", "helo.test", "permerror"),
    (V4, "alice@ten.test", "helo.test", "pass"),
    (V4, "alice@eleven.test", "helo.test", "permerror"),
    (V4, "alice@servfail.test", "helo.test", "temperror"),
    (V4, "alice@two.test", "helo.test", "permerror"),
    (V4, "alice@spf10.test", "helo.test", "fail"),
    (V4, "alice@badip.test", "helo.test", "permerror"),
    (V4, "alice@badcidr.test", "helo.test", "permerror"),
    (V4, "alice@badmech.test", "helo.test", "permerror"),
    (V4, "alice@baddomain.test", "helo.test", "permerror"),
    (V4, "alice@badmacro.test", "helo.test", "permerror"),
    (V4, "alice@tworedir.test", "helo.test", "permerror"),
    (V4, "alice@allarg.test", "helo.test", "permerror"),
    (V4, "", "helo.test", "pass"),
    ("192.0.2.11", "", "helo.test", "fail"),
]

# The one DNS timeout: slow, so alone and last.
TIMEOUT_CASE = (V4, "alice@slow.test", "helo.test", "temperror")
