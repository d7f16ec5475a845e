// Unit tests for lib/address: RFC 5321 4.1.2 syntax and the 4.5.3.1 limits,
// as parse_address / parse_path / valid_domain apply them.
#include <doctest/doctest.h>

#include <string>

#include "address.hpp"

using quail::ErrorKind;
using quail::parse_address;
using quail::parse_path;
using quail::valid_domain;

namespace {

// A domain of exactly n octets made of 63-octet labels (n >= 1).
std::string domain_of_length(size_t n) {
  std::string d;
  while (d.size() < n) {
    if (!d.empty()) d += '.';
    size_t room = n - d.size();
    d += std::string(room > 63 ? 63 : room, 'a');
    if (d.back() == '.') d.back() = 'b';
  }
  return d;
}

struct Case {
  const char* text;
  bool ok;
};

}  // namespace

TEST_CASE("address: dot-string local parts are accepted, malformed ones refused") {
  const Case cases[] = {
      {"bob@example.test", true},
      {"b.o.b@example.test", true},
      {"bob+tag@example.test", true},
      {"!#$%&'*+-/=?^_`{|}~@example.test", true},
      {"0@example.test", true},
      {".bob@example.test", false},
      {"bob.@example.test", false},
      {"b..ob@example.test", false},
      {"b ob@example.test", false},
      {"b(ob)@example.test", false},
      {"b,ob@example.test", false},
      {"b:ob@example.test", false},
      {"b\\ob@example.test", false},
      {"@example.test", false},
      {"bob@", false},
      {"bob", false},
      {"", false},
      {"bob@example.test@other.test", false},
  };
  for (const auto& c : cases) {
    std::string text(c.text);
    CAPTURE(text);
    auto a = parse_address(c.text);
    CHECK(a.ok() == c.ok);
    if (!c.ok) CHECK(a.error().kind == ErrorKind::format);
  }
}

TEST_CASE("address: quoted local parts keep their quotes, including an @ inside") {
  auto a = parse_address("\"a@b\"@c.example");
  REQUIRE(a.ok());
  CHECK(a->local() == "\"a@b\"");
  CHECK(a->domain() == "c.example");
  CHECK(a->quoted());
  CHECK(a->str() == "\"a@b\"@c.example");

  const Case cases[] = {
      {"\"john doe\"@example.test", true},
      {"\"a\\\"b\"@example.test", true},   // quoted pair \"
      {"\"a\\\\b\"@example.test", true},   // quoted pair \\ ...
      {"\"a.\"@example.test", true},
      {"\"\"@example.test", true},         // an empty quoted string is RFC 5321 syntax
      {"\"a\"b\"@example.test", false},    // a bare quote inside
      {"\"abc@example.test", false},       // unterminated
      {"\"abc\\\"@example.test", false},   // the escaped quote does not close it
      {"\"abc\"x@example.test", false},    // text after the closing quote
      {"\"abc\"", false},                  // no domain
      {"\"a\tb\"@example.test", false},    // a control byte
      {"\"a\x7f" "b\"@example.test", false},
      {"\"a\\\x01\"@example.test", false}, // a quoted pair of a control byte
  };
  for (const auto& c : cases) {
    std::string text(c.text);
    CAPTURE(text);
    auto r = parse_address(c.text);
    CHECK(r.ok() == c.ok);
  }
}

TEST_CASE("address: UTF-8 is accepted with SMTPUTF8 and refused without it") {
  const char* texts[] = {
      "jos\xc3\xa9@example.test",           // local part
      "bob@b\xc3\xbc" "cher.example",       // domain label
      "\"jos\xc3\xa9 x\"@example.test",     // quoted local part
  };
  for (const char* t : texts) {
    std::string text(t);
    CAPTURE(text);
    CHECK(parse_address(t, true).ok());
    auto r = parse_address(t, false);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::format);
  }
}

TEST_CASE("address: domain labels follow the LDH rules") {
  const Case cases[] = {
      {"a@example.test", true},
      {"a@x", true},
      {"a@123.example", true},
      {"a@a-b.example", true},
      {"a@xn--bcher-kva.example", true},
      {"a@-x.example", false},
      {"a@x-.example", false},
      {"a@x_y.example", false},
      {"a@x..example", false},
      {"a@.example", false},
      {"a@example.", false},
      {"a@exa mple", false},
      {"a@exa/mple", false},
  };
  for (const auto& c : cases) {
    std::string text(c.text);
    CAPTURE(text);
    CHECK(parse_address(c.text).ok() == c.ok);
  }
  CHECK(valid_domain(std::string(63, 'a') + ".example"));
  CHECK_FALSE(valid_domain(std::string(64, 'a') + ".example"));
  CHECK_FALSE(valid_domain(""));
}

TEST_CASE("address: address literals for IPv4 and IPv6 are accepted when well formed") {
  const Case cases[] = {
      {"a@[1.2.3.4]", true},
      {"a@[192.0.2.255]", true},
      {"a@[IPv6:::1]", true},
      {"a@[IPv6:2001:db8::1]", true},
      {"a@[IPv6:::ffff:192.0.2.1]", true},
      {"a@[1.2.3]", false},
      {"a@[256.1.1.1]", false},
      {"a@[1.2.3.4.5]", false},
      {"a@[::1]", false},            // IPv6 needs its tag
      {"a@[IPv6:1.2.3.4]", false},
      {"a@[IPv6:]", false},
      {"a@[]", false},
      {"a@[1.2.3.4", false},
      {"a@1.2.3.4]", false},
      {"a@[ 1.2.3.4]", false},
  };
  for (const auto& c : cases) {
    std::string text(c.text);
    CAPTURE(text);
    CHECK(parse_address(c.text).ok() == c.ok);
  }
}

TEST_CASE("address: an IPv6 literal survives a round trip through str()") {
  // RFC 5234 makes the "IPv6:" tag case-insensitive; parse_address lowercases the
  // whole domain, so the lowercased literal must parse again.
  auto a = parse_address("a@[IPv6:::1]");
  REQUIRE(a.ok());
  CHECK(parse_address(a->str()).ok());
  CHECK(valid_domain("[ipv6:::1]"));
}

TEST_CASE("address: the 64-octet local part, 255-octet domain and 256-octet path limits") {
  CHECK(parse_address(std::string(64, 'l') + "@example.test").ok());
  auto long_local = parse_address(std::string(65, 'l') + "@example.test");
  REQUIRE_FALSE(long_local.ok());
  CHECK(long_local.error().kind == ErrorKind::too_long);

  CHECK(domain_of_length(255).size() == 255);
  CHECK(valid_domain(domain_of_length(255)));
  CHECK_FALSE(valid_domain(domain_of_length(256)));

  // local 1 + "@" + domain 254 = 256 octets: the longest path.
  CHECK(parse_address("a@" + domain_of_length(254)).ok());
  auto too_long = parse_address("ab@" + domain_of_length(254));
  REQUIRE_FALSE(too_long.ok());
  CHECK(too_long.error().kind == ErrorKind::too_long);
}

TEST_CASE("address: the domain is lowercased, the local part keeps its case") {
  auto a = parse_address("Bob.Smith@EXAMPLE.Test");
  REQUIRE(a.ok());
  CHECK(a->local() == "Bob.Smith");
  CHECK(a->domain() == "example.test");
  CHECK(a->str() == "Bob.Smith@example.test");
  CHECK(quail::lowercase("AbC-\xc3\x89") == "abc-\xc3\x89");  // ASCII only
}

TEST_CASE("address: parse_path accepts <local@domain> and refuses unbracketed paths") {
  bool route = true;
  auto a = parse_path("<bob@example.test>", false, true, &route);
  REQUIRE(a.ok());
  CHECK(a->str() == "bob@example.test");
  CHECK_FALSE(route);
  const char* bad[] = {"bob@example.test", "<bob@example.test", "bob@example.test>", "<", ">", "",
                       "< bob@example.test>", "<bob@example.test >", "<<bob@example.test>>"};
  for (const char* t : bad) {
    std::string text(t);
    CAPTURE(text);
    auto r = parse_path(t, true, true);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::format);
  }
}

TEST_CASE("address: the null path <> is accepted only where allowed") {
  auto n = parse_path("<>", true, true);
  REQUIRE(n.ok());
  CHECK(n->null());
  CHECK(n->str().empty());
  auto refused = parse_path("<>", false, true);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::format);
}

TEST_CASE("address: source routes are dropped and flagged, malformed ones refused") {
  bool route = false;
  auto a = parse_path("<@relay1.example,@relay2.example:bob@example.test>", false, true, &route);
  REQUIRE(a.ok());
  CHECK(route);
  CHECK(a->str() == "bob@example.test");

  route = false;
  auto one = parse_path("<@relay.example:Bob@EXAMPLE.test>", false, true, &route);
  REQUIRE(one.ok());
  CHECK(route);
  CHECK(one->str() == "Bob@example.test");

  CHECK(parse_path("<@[192.0.2.1]:bob@example.test>", false, true).ok());
  CHECK(parse_path("<@relay.example:bob@example.test>", false, true).ok());  // had_route may be null

  const char* bad[] = {
      "<@:bob@example.test>",             // empty hop
      "<@relay.example,bob@example.test>", // no colon
      "<@relay.example,,@r2.example:bob@example.test>",
      "<@-relay.example:bob@example.test>",
      "<@relay.example relay2:bob@example.test>",
      "<relay.example:bob@example.test>", // hop without @
      "<@relay.example:>",                // no mailbox
      "<@relay.example:<bob@example.test>>",
  };
  for (const char* t : bad) {
    std::string text(t);
    CAPTURE(text);
    route = false;
    auto r = parse_path(t, true, true, &route);
    CHECK_FALSE(r.ok());
  }
}

TEST_CASE("address: a source route ending in a comma is refused") {
  // RFC 5321: A-d-l = At-domain *( "," At-domain ); the route loop stops at the
  // trailing comma instead of requiring another hop.
  CHECK_FALSE(parse_path("<@relay.example,:bob@example.test>", false, true).ok());
}

TEST_CASE("address: parse_path applies the UTF-8 flag to the mailbox and the route") {
  CHECK(parse_path("<jos\xc3\xa9@example.test>", false, true).ok());
  CHECK_FALSE(parse_path("<jos\xc3\xa9@example.test>", false, false).ok());
  CHECK_FALSE(parse_path("<@r\xc3\xa9lay.example:bob@example.test>", false, false).ok());
}
