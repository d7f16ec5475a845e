// Unit tests for lib/abuse_keys (greylisting networks, rate-limit keys) and
// lib/dnsbl (RFC 5782 query names, control/dnsbl lines).
#include <doctest/doctest.h>

#include "abuse_keys.hpp"
#include "dnsbl.hpp"

TEST_CASE("abuse keys: a client's greylisting network is its /24 or /64") {
  CHECK(quail::grey_network("192.0.2.77").value() == "192.0.2.0/24");
  CHECK(quail::grey_network("2001:db8:1:2:3:4:5:6").value() == "2001:db8:1:2::/64");
  CHECK(!quail::grey_network("example.test"));
  CHECK(!quail::grey_network(""));
  CHECK(quail::parse_grey_network("192.0.2.0/24").value() == "192.0.2.0/24");
  CHECK(quail::parse_grey_network("192.0.2.9").value() == "192.0.2.0/24");
  CHECK(quail::parse_grey_network("2001:db8::/64").value() == "2001:db8::/64");
  for (auto bad : {"192.0.2.0/16", "192.0.2.0/", "2001:db8::/48", "192.0.2", "x/24", "/24"}) {
    CAPTURE(bad);
    CHECK(!quail::parse_grey_network(bad));
  }
  CHECK(quail::grey_triplet_key("192.0.2.0/24", "Bob@Ex.Test", "alice@example.test") ==
        "grey:t:192.0.2.0/24 bob@ex.test alice@example.test");
  CHECK(quail::grey_triplet_key("n", std::string(1000, 'a'), "b").size() < 400);
}

TEST_CASE("abuse keys: rate-limit keys name a fixed window and parse back") {
  std::string k = quail::limit_key(quail::LimitKind::messages, true, "Alice@Example.Test", 7200 + 5);
  CHECK(k == "rl:messages:u:alice@example.test:2");
  auto p = quail::parse_limit_key(k);
  REQUIRE(p);
  CHECK(p->kind == quail::LimitKind::messages);
  CHECK(p->user);
  CHECK(p->who == "alice@example.test");
  CHECK(p->window_start == 7200);
  p = quail::parse_limit_key(quail::limit_key(quail::LimitKind::connections, false, "2001:db8::1", 130));
  REQUIRE(p);
  CHECK(p->who == "2001:db8::1");  // the colons of an IPv6 address survive
  CHECK(p->window_start == 120);
  for (auto bad : {"rl:", "rl:messages:x:a:1", "rl:messages:a:a:", "rl:messages:a::1", "rl:hugs:a:a:1",
                   "grey:t:x", "rl:messages:a:a:1x"}) {
    CAPTURE(bad);
    CHECK(!quail::parse_limit_key(bad));
  }
}

TEST_CASE("dnsbl: RFC 5782 query names for IPv4 and IPv6") {
  CHECK(quail::dnsbl_query_name("192.0.2.99", "bl.test").value() == "99.2.0.192.bl.test");
  CHECK(quail::dnsbl_query_name("2001:db8:1:2:3:4:567:89ab", "bl.test").value() ==
        "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.test");
  CHECK(!quail::dnsbl_query_name("bl.test", "bl.test"));
  CHECK(!quail::dnsbl_query_name("", "bl.test"));
}

TEST_CASE("dnsbl: list lines name a zone and an optional answer") {
  auto l = quail::parse_dns_list("Zen.Example.Net.");
  REQUIRE(l.ok());
  CHECK(l->zone == "zen.example.net");
  CHECK(l->answer.empty());
  CHECK(quail::dnsbl_answer_lists(*l, "127.0.0.4"));
  CHECK(!quail::dnsbl_answer_lists(*l, "10.0.0.2"));
  l = quail::parse_dns_list("bl.test=127.0.0.2");
  REQUIRE(l.ok());
  CHECK(l->answer == "127.0.0.2");
  CHECK(quail::dnsbl_answer_lists(*l, "127.0.0.2"));
  CHECK(!quail::dnsbl_answer_lists(*l, "127.0.0.3"));
  for (auto bad : {"", "=127.0.0.2", "bl.test=", "bl.test=localhost", "bl..test", "bl test", "bl.test=::1"}) {
    CAPTURE(bad);
    CHECK(!quail::parse_dns_list(bad).ok());
  }
}
