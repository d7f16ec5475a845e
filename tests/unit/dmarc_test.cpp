// Unit tests for lib/dmarc, lib/psl and lib/auth_results: the record, the
// organisational domain, alignment, p/sp/pct, several or no From addresses, and
// the Authentication-Results field and its forged twins.
#include <doctest/doctest.h>

#include <map>

#include "auth_results.hpp"
#include "dmarc.hpp"
#include "psl.hpp"

using namespace quail;
using namespace quail::dmarc;

namespace {

const char* psl_text =
    "// comment\n"
    "test\n"
    "co.test\n"
    "*.wild.test\n"
    "!city.wild.test\n"
    "// ===BEGIN PRIVATE DOMAINS===\n"
    "hosted.test\n";

struct Txt {
  std::map<std::string, std::vector<std::string>> records;
  bool fail = false;
  Lookup operator()(const std::string& name, std::vector<std::string>& out) const {
    if (fail) return Lookup::temporary;
    auto it = records.find(name);
    if (it == records.end()) return Lookup::none;
    out = it->second;
    return Lookup::ok;
  }
};

Verdict judge(const Txt& t, std::vector<std::string> from, spf::Code spf, std::string spf_domain,
              std::vector<DkimResult> dkim = {}, int sample = 0) {
  static PublicSuffixList psl = PublicSuffixList::parse(psl_text);
  Input in;
  in.from_domains = std::move(from);
  in.spf = spf;
  in.spf_domain = std::move(spf_domain);
  in.dkim = std::move(dkim);
  return evaluate(in, psl, t, [sample] { return sample; });
}

}  // namespace

TEST_CASE("psl: the organisational domain is the public suffix and one label") {
  auto psl = PublicSuffixList::parse(psl_text);
  CHECK(psl.organizational_domain("mail.ex.test") == "ex.test");
  CHECK(psl.organizational_domain("ex.test") == "ex.test");
  CHECK(psl.organizational_domain("a.b.ex.co.test") == "ex.co.test");
  CHECK(psl.organizational_domain("x.y.wild.test") == "x.y.wild.test");  // *.wild.test: y.wild.test is public
  CHECK(psl.organizational_domain("a.city.wild.test") == "city.wild.test");  // the exception
  CHECK(psl.organizational_domain("shop.hosted.test") == "shop.hosted.test");
  CHECK(psl.organizational_domain("a.b.unlisted") == "b.unlisted");  // the "*" rule
  CHECK(psl.organizational_domain("test") == "test");
}

TEST_CASE("psl: a rule is its line's first word, any case, at a label boundary") {
  auto psl = PublicSuffixList::parse("// c\nCO.Test extra words\r\n  \nuk\t// trailing\nko.test\n");
  CHECK(psl.size() == 3);  // the line of spaces holds no rule
  CHECK(psl.organizational_domain("a.b.co.test") == "b.co.test");
  CHECK(psl.organizational_domain("a.b.co.test") == "b.co.test");  // the second answer, remembered, agrees
  CHECK(psl.public_suffix("a.ex.uk") == "uk");
  CHECK(psl.public_suffix("a.eko.test") == "test");  // ko.test is not a label-boundary suffix of eko.test
  CHECK(psl.public_suffix("") == "");
  CHECK(PublicSuffixList::parse("").organizational_domain("a.b.c") == "b.c");
}

TEST_CASE("psl: a moved list answers as the original") {
  auto a = PublicSuffixList::parse(psl_text);
  CHECK(a.organizational_domain("a.b.ex.co.test") == "ex.co.test");
  PublicSuffixList b = std::move(a);
  CHECK(b.organizational_domain("a.b.ex.co.test") == "ex.co.test");
  CHECK(b.organizational_domain("a.city.wild.test") == "city.wild.test");
}

TEST_CASE("psl: Debian's list knows co.uk") {
  auto psl = PublicSuffixList::load("/usr/share/publicsuffix/public_suffix_list.dat");
  if (!psl) return;  // the package is in DEB_PACKAGES; a machine without it skips
  CHECK(psl->organizational_domain("mail.example.co.uk") == "example.co.uk");
  CHECK(psl->organizational_domain("a.b.city.kawasaki.jp") == "city.kawasaki.jp");  // !city.kawasaki.jp
  CHECK(psl->organizational_domain("x.y.ex.kawasaki.jp") == "y.ex.kawasaki.jp");  // *.kawasaki.jp
  CHECK(psl->size() > 1000);
  auto moved = std::move(*psl);  // the mapping goes with it
  CHECK(moved.organizational_domain("www.example.com") == "example.com");
}

TEST_CASE("dmarc: records parse; malformed ones are not records") {
  auto r = parse_record("v=DMARC1; p=reject; sp=quarantine; pct=50; adkim=s; aspf=r; rua=mailto:d@ex.test");
  REQUIRE(r);
  CHECK(r->p == Policy::reject);
  CHECK(r->sp == Policy::quarantine);
  CHECK(r->pct == 50);
  CHECK(r->strict_dkim);
  CHECK(!r->strict_spf);
  CHECK(parse_record("v=DMARC1;p=none"));
  CHECK(parse_record("v=DMARC1; p=none;"));
  CHECK(parse_record("v=DMARC1; p=bogus; rua=mailto:x@ex.test")->p == Policy::none);
  for (const char* bad : {"", "p=reject; v=DMARC1", "v=DMARC2; p=reject", "v=DMARC1", "v=DMARC1; p=bogus",
                          "v=DMARC1; p=reject; pct=101", "v=DMARC1; p=reject; adkim=x", "v=spf1 -all",
                          "v=DMARC1; p=reject; junk"}) {
    CHECK_MESSAGE(!parse_record(bad), bad);
  }
}

TEST_CASE("dmarc: aligned SPF or DKIM passes, relaxed by default") {
  Txt t;
  t.records["_dmarc.ex.test"] = {"v=DMARC1; p=reject"};
  CHECK(judge(t, {"ex.test"}, spf::Code::pass, "bounces.ex.test").code == Code::pass);
  CHECK(judge(t, {"ex.test"}, spf::Code::pass, "other.test").code == Code::fail);
  CHECK(judge(t, {"ex.test"}, spf::Code::fail, "ex.test").code == Code::fail);
  CHECK(judge(t, {"ex.test"}, spf::Code::none, "", {{true, "mail.ex.test"}}).code == Code::pass);
  CHECK(judge(t, {"ex.test"}, spf::Code::none, "", {{false, "ex.test"}}).code == Code::fail);
  Verdict v = judge(t, {"ex.test"}, spf::Code::softfail, "ex.test");
  CHECK(v.policy == Policy::reject);
  CHECK(v.disposition == Policy::reject);
}

TEST_CASE("dmarc: strict alignment needs the same name") {
  Txt t;
  t.records["_dmarc.ex.test"] = {"v=DMARC1; p=quarantine; aspf=s; adkim=s"};
  CHECK(judge(t, {"ex.test"}, spf::Code::pass, "bounces.ex.test").code == Code::fail);
  CHECK(judge(t, {"ex.test"}, spf::Code::pass, "ex.test").code == Code::pass);
  CHECK(judge(t, {"ex.test"}, spf::Code::none, "", {{true, "sub.ex.test"}}).code == Code::fail);
}

TEST_CASE("dmarc: a subdomain without a record takes the organisational domain's sp") {
  Txt t;
  t.records["_dmarc.ex.test"] = {"v=DMARC1; p=reject; sp=none"};
  Verdict v = judge(t, {"news.ex.test"}, spf::Code::fail, "news.ex.test");
  CHECK(v.code == Code::fail);
  CHECK(v.policy == Policy::none);
  CHECK(judge(t, {"ex.test"}, spf::Code::fail, "ex.test").policy == Policy::reject);
}

TEST_CASE("dmarc: pct outside the sample applies the next milder policy") {
  Txt t;
  t.records["_dmarc.ex.test"] = {"v=DMARC1; p=reject; pct=20"};
  CHECK(judge(t, {"ex.test"}, spf::Code::fail, "ex.test", {}, 10).disposition == Policy::reject);
  CHECK(judge(t, {"ex.test"}, spf::Code::fail, "ex.test", {}, 50).disposition == Policy::quarantine);
}

TEST_CASE("dmarc: no record is none, two records are none, a DNS failure is temperror") {
  Txt t;
  CHECK(judge(t, {"ex.test"}, spf::Code::fail, "ex.test").code == Code::none);
  t.records["_dmarc.ex.test"] = {"v=DMARC1; p=reject", "v=DMARC1; p=none"};
  CHECK(judge(t, {"ex.test"}, spf::Code::fail, "ex.test").code == Code::none);
  t.fail = true;
  CHECK(judge(t, {"ex.test"}, spf::Code::fail, "ex.test").code == Code::temperror);
}

TEST_CASE("dmarc: several From domains are each judged, the severest stands") {
  Txt t;
  t.records["_dmarc.ex.test"] = {"v=DMARC1; p=none"};
  t.records["_dmarc.bank.test"] = {"v=DMARC1; p=reject"};
  Verdict v = judge(t, {"ex.test", "bank.test"}, spf::Code::pass, "ex.test");
  CHECK(v.code == Code::fail);
  CHECK(v.domain == "bank.test");
  CHECK(v.disposition == Policy::reject);
}

TEST_CASE("dmarc: the From field's domains; none or two From fields fail") {
  std::vector<std::string> d;
  CHECK(from_domains("From: Alice <alice@Ex.Test>, bob@ex.test\nTo: x@y.test\n", d));
  CHECK(d == std::vector<std::string>{"ex.test"});
  d.clear();
  CHECK(!from_domains("To: x@y.test\n", d));
  CHECK(!from_domains("From: a@ex.test\nFrom: b@other.test\n", d));
  d.clear();
  CHECK(!from_domains("From: undisclosed\n", d));
  Input in;
  in.from_ok = false;
  CHECK(evaluate(in, PublicSuffixList::parse(""), Txt{}, [] { return 0; }).code == Code::permerror);
}

TEST_CASE("auth results: the field names every check; forged fields under our id are found") {
  AuthSummary s;
  s.authserv_id = "mx.us.test";
  s.spf = spf::Code::pass;
  s.spf_domain = "ex.test";
  s.dmarc.code = Code::pass;
  s.dmarc.policy = Policy::reject;
  s.dmarc.domain = "ex.test";
  CHECK(authentication_results(s) ==
        "Authentication-Results: mx.us.test;\n\tspf=pass smtp.mailfrom=ex.test;\n\tdkim=none;\n"
        "\tdmarc=pass (p=reject dis=none) header.from=ex.test\n");
  std::string msg =
      "Received: from x\n"
      "Authentication-Results: MX.us.test; spf=pass\n"
      "Authentication-Results: (c) mx.us.test;\n dkim=pass\n"
      "Authentication-Results: other.test; spf=fail\n"
      "X-Quail-Quarantine: no\n"
      "Subject: hi\n\nAuthentication-Results: mx.us.test; body\n";
  auto r = forged_fields(msg, "mx.us.test");
  REQUIRE(r.size() == 3);
  CHECK(msg.substr(r[0].first, r[0].second) == "Authentication-Results: MX.us.test; spf=pass\n");
  CHECK(msg.substr(r[1].first, r[1].second) == "Authentication-Results: (c) mx.us.test;\n dkim=pass\n");
  CHECK(msg.substr(r[2].first, r[2].second) == "X-Quail-Quarantine: no\n");
  CHECK(ar_value("[1.2.3.4]") == "\"[1.2.3.4]\"");
}
