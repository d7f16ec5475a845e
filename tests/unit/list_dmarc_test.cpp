// Unit tests for lib/list_dmarc: the author domains' policy (p, sp, DNS failure,
// several authors), when a post's From is rewritten, and the rewritten header:
// display names with quotes and encoded-words, none, several From fields or none
// (RFC 7489 6.6.1), an existing Reply-To.
#include <doctest/doctest.h>

#include <map>

#include "list_config.hpp"
#include "list_dmarc.hpp"

using namespace quail;
using namespace quail::list;

namespace {

ListConfig team() {
  ListConfig c;
  c.address = "team@lists.test";
  c.owner = "alice@lists.test";
  c.root = "/var/quail";
  return c;
}

struct Txt {
  std::map<std::string, std::string> records;
  std::string failing;  // this name's lookup fails
  dmarc::Lookup operator()(const std::string& name, std::vector<std::string>& out) const {
    if (name == failing) return dmarc::Lookup::temporary;
    auto it = records.find(name);
    if (it == records.end()) return dmarc::Lookup::none;
    out = {it->second};
    return dmarc::Lookup::ok;
  }
};

const Txt dns{{{"_dmarc.strict.test", "v=DMARC1; p=reject"},
               {"_dmarc.junk.test", "v=DMARC1; p=quarantine; pct=10"},
               {"_dmarc.open.test", "v=DMARC1; p=none"},
               {"_dmarc.org.test", "v=DMARC1; p=none; sp=reject"}},
              "_dmarc.broken.test"};

AuthorPolicy policy(std::vector<std::string> domains, const Txt& t = dns) {
  static PublicSuffixList psl = PublicSuffixList::parse("test\n");
  return author_policy(domains, psl, t);
}

std::vector<HeaderField> head(const std::string& text) { return parse_header(text).value(); }

std::string rewritten(const std::string& text, std::string_view sender = "bounce@strict.test") {
  std::string out;
  for (const auto& f : rewrite_from(team(), head(text), sender)) out += f.raw;
  return out;
}

}  // namespace

TEST_CASE("list dmarc: the strictest published policy, sp below the organisational domain") {
  CHECK(policy({"strict.test"}).policy == dmarc::Policy::reject);
  auto q = policy({"junk.test"});
  CHECK(q.policy == dmarc::Policy::quarantine);  // pct= is the receiver's sampling, not ours
  CHECK(q.domain == "junk.test");
  CHECK(policy({"open.test"}).policy == dmarc::Policy::none);
  CHECK(policy({"nothing.test"}).policy == dmarc::Policy::none);
  CHECK(policy({"org.test"}).policy == dmarc::Policy::none);           // p at the domain itself
  CHECK(policy({"mail.org.test"}).policy == dmarc::Policy::reject);    // sp at the organisational domain
  CHECK(policy({"mail.strict.test"}).policy == dmarc::Policy::reject); // no sp: p
  auto several = policy({"open.test", "strict.test", "junk.test"});
  CHECK(several.policy == dmarc::Policy::reject);
  CHECK(several.domain == "strict.test");
  auto failed = policy({"open.test", "broken.test"});
  CHECK(failed.temporary);
  CHECK(failed.domain == "broken.test");
  CHECK(failed.policy == dmarc::Policy::none);
}

TEST_CASE("list dmarc: when the From is rewritten, per from_rewrite") {
  ListConfig c = team();
  Authors one = authors("From: Ann <ann@strict.test>\n");
  REQUIRE(one.single_from);
  CHECK(needs_policy(c, one));
  AuthorPolicy reject{dmarc::Policy::reject, "strict.test", false};
  AuthorPolicy none{dmarc::Policy::none, "", false};
  AuthorPolicy dns_failure{dmarc::Policy::none, "broken.test", true};
  CHECK(rewrite_reason(c, one, &reject) == "strict.test p=reject");
  CHECK(rewrite_reason(c, one, &none) == "");
  CHECK(rewrite_reason(c, one, &dns_failure) == "the DMARC policy of broken.test is unknown (DNS failure)");
  // The list's own domain: its signature aligns with the From already.
  Authors own = authors("From: bob@Lists.test\n");
  CHECK_FALSE(needs_policy(c, own));
  CHECK(rewrite_reason(c, own, nullptr) == "");
  // RFC 7489 6.6.1: no From, several From fields, no domain: receivers refuse them.
  for (const char* h : {"Subject: x\n", "From: a@strict.test\nFrom: b@open.test\n", "From: ann\n",
                        "From: ann@[192.0.2.1]\n"}) {
    Authors bad = authors(h);
    CHECK_FALSE(bad.single_from);
    CHECK_FALSE(needs_policy(c, bad));
    CHECK(rewrite_reason(c, bad, nullptr) == "no single From with a domain");
  }
  c.from_rewrite = FromRewrite::always;
  CHECK_FALSE(needs_policy(c, one));
  CHECK(rewrite_reason(c, own, nullptr) == "from_rewrite=always");
  c.from_rewrite = FromRewrite::never;
  CHECK(rewrite_reason(c, authors("Subject: x\n"), nullptr) == "");
  CHECK(rewrite_reason(c, one, &reject) == "");
}

TEST_CASE("list dmarc: the rewritten From and Reply-To") {
  CHECK(rewritten("Subject: s\nFrom: Ann Example <ann@strict.test>\nTo: team@lists.test\n") ==
        "Subject: s\nFrom: Ann Example via team <team@lists.test>\nReply-To: Ann Example <ann@strict.test>\n"
        "To: team@lists.test\n");
  // A quoted name keeps its quotes (and gets them escaped where needed).
  CHECK(rewritten("From: \"Example, Ann \\\"A\\\"\" <ann@strict.test>\n") ==
        "From: \"Example, Ann \\\"A\\\" via team\" <team@lists.test>\n"
        "Reply-To: \"Example, Ann \\\"A\\\"\" <ann@strict.test>\n");
  // Encoded-words stay outside quotes, so readers still decode them.
  CHECK(rewritten("From: =?utf-8?q?J=C3=B6rg?= \"M. Smith\" <j@strict.test>\n") ==
        "From: =?utf-8?q?J=C3=B6rg?= \"M. Smith via team\" <team@lists.test>\n"
        "Reply-To: =?utf-8?q?J=C3=B6rg?= \"M. Smith\" <j@strict.test>\n");
  // No display name: the local part, never the address.
  CHECK(rewritten("From: ann@strict.test\n") ==
        "From: ann via team <team@lists.test>\nReply-To: ann@strict.test\n");
  CHECK(rewritten("From: \"ann@strict.test\" <ann@strict.test>\n").rfind("From: ann via team <team@lists.test>\n", 0) ==
        0);
  // Several authors: the first one's name; all of them in Reply-To.
  CHECK(rewritten("From: Ann <ann@strict.test>, bob@open.test\n") ==
        "From: Ann via team <team@lists.test>\nReply-To: Ann <ann@strict.test>, bob@open.test\n");
}

TEST_CASE("list dmarc: an existing Reply-To is kept, the author added unless there") {
  CHECK(rewritten("From: Ann <ann@strict.test>\nSubject: s\nReply-To: ops@strict.test\n") ==
        "From: Ann via team <team@lists.test>\nReply-To: ops@strict.test, Ann <ann@strict.test>\nSubject: s\n");
  CHECK(rewritten("From: Ann <ann@strict.test>\nReply-To: Ann <ANN@strict.test>\n") ==
        "From: Ann via team <team@lists.test>\nReply-To: Ann <ANN@strict.test>\n");
}

TEST_CASE("list dmarc: no From, several From fields: one From, the envelope sender in Reply-To") {
  CHECK(rewritten("Subject: s\n", "ann@strict.test") ==
        "Subject: s\nFrom: ann via team <team@lists.test>\nReply-To: ann@strict.test\n");
  CHECK(rewritten("From: a@strict.test\nSubject: s\nFrom: b@open.test\n", "ann@strict.test") ==
        "From: ann via team <team@lists.test>\nReply-To: ann@strict.test\nSubject: s\n");
  // The null sender and no From: the list's From alone.
  CHECK(rewritten("Subject: s\n", "") == "Subject: s\nFrom: someone via team <team@lists.test>\n");
}

TEST_CASE("list dmarc: a header section without its last line end gets one before the added fields") {
  CHECK(rewritten("Subject: s", "ann@strict.test") ==
        "Subject: s\nFrom: ann via team <team@lists.test>\nReply-To: ann@strict.test\n");
}
