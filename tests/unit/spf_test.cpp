// Unit tests for lib/spf, lib/spf_record and lib/spf_macro: RFC 7208's mechanisms,
// modifiers, macros and limits against a table of DNS records (spf_fake_dns.hpp).
#include <doctest/doctest.h>

#include "spf.hpp"
#include "spf_fake_dns.hpp"

using namespace quail::spf;

namespace {

Verdict run(FakeDns& dns, const std::string& ip, const std::string& sender, const std::string& helo = "mx.client.test") {
  Request r;
  r.ip = *IpAddress::parse(ip);
  r.sender = sender;
  r.helo = helo;
  r.receiver = "mx.us.test";
  r.now = 1700000000;
  return check(r, dns);
}

Code code(FakeDns& dns, const std::string& ip, const std::string& sender = "alice@ex.test") {
  return run(dns, ip, sender).code;
}

}  // namespace

TEST_CASE("spf: no record, no TXT at all, or a name that does not exist is none") {
  FakeDns dns;
  dns.txt_["ex.test"] = {"some other text"};
  CHECK(code(dns, "192.0.2.1") == Code::none);
  CHECK(code(dns, "192.0.2.1", "bob@nowhere.test") == Code::none);
  CHECK(code(dns, "192.0.2.1", "bob@single-label") == Code::none);
}

TEST_CASE("spf: qualifiers give their results; the default is neutral") {
  FakeDns dns;
  struct Case {
    const char* record;
    Code want;
  } cases[] = {
      {"v=spf1 +all", Code::pass},      {"v=spf1 all", Code::pass},         {"v=spf1 -all", Code::fail},
      {"v=spf1 ~all", Code::softfail},  {"v=spf1 ?all", Code::neutral},     {"v=spf1", Code::neutral},
      {"V=SPF1 -ALL", Code::fail},      {"v=spf1  -all ", Code::fail},      {"v=spf1 ip4:10.0.0.1", Code::neutral},
  };
  for (const auto& c : cases) {
    dns.txt_["ex.test"] = {c.record};
    CHECK_MESSAGE(code(dns, "192.0.2.1") == c.want, c.record);
  }
}

TEST_CASE("spf: two SPF records, or a malformed one, are permerror") {
  FakeDns dns;
  const char* bad[] = {"v=spf1 foo", "v=spf1 ip4:300.1.1.1", "v=spf1 ip4:1.2.3.4/33", "v=spf1 a:ex.test/024",
                       "v=spf1 redirect=a.test redirect=b.test", "v=spf1 include", "v=spf1 include:%{x}.test",
                       "v=spf1 a:foo", "v=spf1 ip6:1.2.3.4", "v=spf1 exists:%{d1}x", "v=spf1 all:x", "v=spf1 mx:%"};
  for (const char* r : bad) {
    dns.txt_["ex.test"] = {r};
    CHECK_MESSAGE(code(dns, "192.0.2.1") == Code::permerror, r);
  }
  dns.txt_["ex.test"] = {"v=spf1 -all", "v=spf1 +all"};
  CHECK(code(dns, "192.0.2.1") == Code::permerror);
  // "v=spf10" is not a version 1 record: only one record counts.
  dns.txt_["ex.test"] = {"v=spf10 +all", "v=spf1 -all"};
  CHECK(code(dns, "192.0.2.1") == Code::fail);
}

TEST_CASE("spf: ip4 and ip6 with prefixes; a mapped address is IPv4") {
  FakeDns dns;
  dns.txt_["ex.test"] = {"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"};
  CHECK(code(dns, "192.0.2.77") == Code::pass);
  CHECK(code(dns, "192.0.3.1") == Code::fail);
  CHECK(code(dns, "2001:db8:1::5") == Code::pass);
  CHECK(code(dns, "2001:db9::5") == Code::fail);
  CHECK(code(dns, "::ffff:192.0.2.9") == Code::pass);
}

TEST_CASE("spf: a and mx with dual CIDR lengths, and the current domain by default") {
  FakeDns dns;
  dns.txt_["ex.test"] = {"v=spf1 a/24//64 mx:mail.test -all"};
  dns.a_["ex.test"] = {"192.0.2.10"};
  dns.aaaa_["ex.test"] = {"2001:db8::1"};
  dns.mx_["mail.test"] = {"mx1.mail.test", "mx2.mail.test"};
  dns.a_["mx2.mail.test"] = {"198.51.100.7"};
  CHECK(code(dns, "192.0.2.200") == Code::pass);
  CHECK(code(dns, "2001:db8::ffff:1") == Code::pass);
  CHECK(code(dns, "198.51.100.7") == Code::pass);
  CHECK(code(dns, "198.51.100.8") == Code::fail);
}

TEST_CASE("spf: include passes only on pass; none and errors inside are permerror or temperror") {
  FakeDns dns;
  dns.txt_["ex.test"] = {"v=spf1 include:in.test -all"};
  dns.txt_["in.test"] = {"v=spf1 ip4:192.0.2.1 ~all"};
  CHECK(code(dns, "192.0.2.1") == Code::pass);
  CHECK(code(dns, "192.0.2.2") == Code::fail);  // the include's softfail is only no match
  dns.txt_["in.test"] = {"nothing"};
  CHECK(code(dns, "192.0.2.1") == Code::permerror);
  dns.timeouts.insert("in.test");
  CHECK(code(dns, "192.0.2.1") == Code::temperror);
}

TEST_CASE("spf: redirect applies when nothing matched; to a name without a record it is permerror") {
  FakeDns dns;
  dns.txt_["ex.test"] = {"v=spf1 ip4:192.0.2.1 redirect=r.test"};
  dns.txt_["r.test"] = {"v=spf1 -all"};
  CHECK(code(dns, "192.0.2.1") == Code::pass);
  CHECK(code(dns, "192.0.2.2") == Code::fail);
  dns.txt_.erase("r.test");
  CHECK(code(dns, "192.0.2.2") == Code::permerror);
  // all before redirect wins
  dns.txt_["ex.test"] = {"v=spf1 ?all redirect=r.test"};
  CHECK(code(dns, "192.0.2.2") == Code::neutral);
}

TEST_CASE("spf: ptr matches a validated name at or below the domain") {
  FakeDns dns;
  dns.txt_["ex.test"] = {"v=spf1 ptr -all"};
  dns.ptr_["192.0.2.5"] = {"host.ex.test"};
  dns.a_["host.ex.test"] = {"192.0.2.5"};
  dns.ptr_["192.0.2.6"] = {"liar.ex.test"};  // its forward lookup does not give it back
  dns.a_["liar.ex.test"] = {"192.0.2.99"};
  CHECK(code(dns, "192.0.2.5") == Code::pass);
  CHECK(code(dns, "192.0.2.6") == Code::fail);
  CHECK(code(dns, "192.0.2.7") == Code::fail);
}

TEST_CASE("spf: exists looks up an A record of the expanded name") {
  FakeDns dns;
  dns.txt_["ex.test"] = {"v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all"};
  dns.a_["1.2.0.192.alice._spf.ex.test"] = {"127.0.0.2"};
  CHECK(code(dns, "192.0.2.1", "alice@ex.test") == Code::pass);
  CHECK(code(dns, "192.0.2.1", "bob@ex.test") == Code::fail);
}

TEST_CASE("spf: macro expansion of RFC 7208 7.4's examples") {
  MacroContext c;
  c.sender = "strong-bad@email.example.com";
  c.local_part = "strong-bad";
  c.sender_domain = "email.example.com";
  c.domain = "email.example.com";
  c.ip = *IpAddress::parse("192.0.2.3");
  c.helo = "mx.example.org";
  c.receiver = "mx.us.test";
  c.now = 12345;
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {
      {"%{s}", "strong-bad@email.example.com"},
      {"%{o}", "email.example.com"},
      {"%{d}", "email.example.com"},
      {"%{d4}", "email.example.com"},
      {"%{d3}", "email.example.com"},
      {"%{d2}", "example.com"},
      {"%{d1}", "com"},
      {"%{dr}", "com.example.email"},
      {"%{d2r}", "example.email"},
      {"%{l}", "strong-bad"},
      {"%{l-}", "strong.bad"},
      {"%{lr}", "strong-bad"},
      {"%{lr-}", "bad.strong"},
      {"%{l1r-}", "strong"},
      {"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
      {"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
      {"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"},
      {"%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
      {"%%%_%-", "% %20"},
      {"%{S}", "strong-bad%40email.example.com"},
  };
  for (const auto& k : cases) {
    auto got = expand_macros(k.in, c, false);
    REQUIRE_MESSAGE(got, k.in);
    CHECK(*got == k.out);
  }
  c.ip = *IpAddress::parse("2001:db8::cb01");
  CHECK(*expand_macros("%{ir}.%{v}._spf.%{d2}", c, false) ==
        "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
  CHECK(*expand_macros("%{c} %{r} %{t}", c, true) == "2001:db8::cb01 mx.us.test 12345");
  for (const char* bad : {"%{c}", "%{d0}", "%{x}", "%{d", "%", "%a", "a b"}) CHECK_MESSAGE(!expand_macros(bad, c, false), bad);
}

TEST_CASE("spf: a long expansion loses labels from the left to fit 253 characters") {
  std::string name;
  for (int i = 0; i < 30; ++i) name += "abcdefghi.";
  name += "test";
  std::string fit = fit_domain(name);
  CHECK(fit.size() <= 253);
  CHECK(fit.ends_with(".abcdefghi.test"));
  CHECK(fit.front() == 'a');
}

TEST_CASE("spf: more than 10 DNS-querying terms is permerror; ip4 and all cost nothing") {
  FakeDns dns;
  std::string r = "v=spf1";
  for (int i = 0; i < 10; ++i) r += " a:h" + std::to_string(i) + ".ex.test";
  for (int i = 0; i < 10; ++i) dns.a_["h" + std::to_string(i) + ".ex.test"] = {"10.0.0.1"};
  dns.txt_["ex.test"] = {r + " ip4:192.0.2.1 -all"};
  CHECK(code(dns, "192.0.2.1") == Code::pass);
  dns.txt_["ex.test"] = {r + " a:h10.ex.test -all"};
  CHECK(code(dns, "192.0.2.1") == Code::permerror);
  // a loop of includes ends there too
  dns.txt_["ex.test"] = {"v=spf1 include:ex.test -all"};
  CHECK(code(dns, "192.0.2.1") == Code::permerror);
}

TEST_CASE("spf: a third void lookup is permerror") {
  FakeDns dns;
  dns.txt_["ex.test"] = {"v=spf1 a:v1.ex.test a:v2.ex.test -all"};
  CHECK(code(dns, "192.0.2.1") == Code::fail);
  dns.txt_["ex.test"] = {"v=spf1 a:v1.ex.test a:v2.ex.test a:v3.ex.test -all"};
  CHECK(code(dns, "192.0.2.1") == Code::permerror);
}

TEST_CASE("spf: more than 10 MX hosts is permerror") {
  FakeDns dns;
  dns.txt_["ex.test"] = {"v=spf1 mx -all"};
  for (int i = 0; i < 11; ++i) dns.mx_["ex.test"].push_back("mx" + std::to_string(i) + ".ex.test");
  CHECK(code(dns, "192.0.2.1") == Code::permerror);
}

TEST_CASE("spf: a DNS timeout in a mechanism is temperror") {
  FakeDns dns;
  dns.txt_["ex.test"] = {"v=spf1 a:slow.test -all"};
  dns.timeouts.insert("slow.test");
  CHECK(code(dns, "192.0.2.1") == Code::temperror);
  dns.timeouts.insert("ex.test");
  CHECK(code(dns, "192.0.2.1") == Code::temperror);
}

TEST_CASE("spf: the null sender is checked as postmaster at the HELO name") {
  FakeDns dns;
  dns.txt_["mx.client.test"] = {"v=spf1 exists:%{l}.%{d} -all"};
  dns.a_["postmaster.mx.client.test"] = {"127.0.0.2"};
  Verdict v = run(dns, "192.0.2.1", "");
  CHECK(v.code == Code::pass);
  CHECK(v.domain == "mx.client.test");
  CHECK(run(dns, "192.0.2.1", "", "[192.0.2.1]").code == Code::none);
}

TEST_CASE("spf: a fail carries the explanation of exp=, with its macros") {
  FakeDns dns;
  dns.txt_["ex.test"] = {"v=spf1 -all exp=why.%{d}"};
  dns.txt_["why.ex.test"] = {"%{i} may not send for %{d}"};
  Verdict v = run(dns, "192.0.2.1", "alice@ex.test");
  CHECK(v.code == Code::fail);
  CHECK(v.explanation == "192.0.2.1 may not send for ex.test");
  CHECK(v.mechanism == "all");
}
