// Unit tests for lib/dns_rdata: wire-format names, MX (null MX included), A and AAAA data.
#include <doctest/doctest.h>

#include <string>

#include "dns_rdata.hpp"

using namespace quail;

namespace {
std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s += static_cast<char>(c);
  return s;
}
}  // namespace

TEST_CASE("dns rdata: an MX record's preference and host, lowercased") {
  auto m = parse_mx_rdata(bytes({0, 10, 2, 'M', 'x', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0}));
  REQUIRE(m);
  CHECK(m->preference == 10);
  CHECK(m->host == "mx.example.test");
}

TEST_CASE("dns rdata: null MX is preference 0 and the root") {
  auto m = parse_mx_rdata(bytes({0, 0, 0}));
  REQUIRE(m);
  CHECK(m->preference == 0);
  CHECK(m->host == "");
}

TEST_CASE("dns rdata: malformed names are refused") {
  CHECK_FALSE(parse_mx_rdata(bytes({0, 10})));
  CHECK_FALSE(parse_mx_rdata(bytes({0, 10, 2, 'm', 'x'})));                 // no root label
  CHECK_FALSE(parse_mx_rdata(bytes({0, 10, 5, 'm', 'x', 0})));              // label past the end
  CHECK_FALSE(parse_mx_rdata(bytes({0, 10, 0xc0, 0x0c})));                  // a compression pointer
  CHECK_FALSE(parse_mx_rdata(bytes({0, 10, 2, 'm', ' ', 0})));              // a space in a label
  CHECK_FALSE(parse_mx_rdata(bytes({0, 10, 2, 'm', 'x', 0, 'x'})));         // bytes after the name
  CHECK_FALSE(parse_mx_rdata(bytes({0, 10, 2, 'm', '\n', 0})));
  std::string deep = bytes({0, 1});
  for (int i = 0; i < 200; ++i) deep += bytes({1, 'a'});
  deep += bytes({0});
  CHECK_FALSE(parse_mx_rdata(deep));
}

TEST_CASE("dns rdata: A and AAAA addresses") {
  CHECK(parse_address_rdata(bytes({127, 0, 65, 3})) == "127.0.65.3");
  CHECK(parse_address_rdata(bytes({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})) == "::1");
  CHECK_FALSE(parse_address_rdata(bytes({1, 2, 3})));
}

TEST_CASE("dns rdata: a TXT record's strings are joined; a length past the end is refused") {
  using namespace std::string_literals;
  CHECK(quail::parse_txt_rdata("\x06v=spf1\x05 -all"s) == "v=spf1 -all");
  CHECK(quail::parse_txt_rdata(""s) == "");
  CHECK(quail::parse_txt_rdata("\x00"s) == "");
  CHECK_FALSE(quail::parse_txt_rdata("\x07v=spf1"s).has_value());
}

TEST_CASE("dns rdata: a presentation-form name from a stub resolver is checked as a wire name is") {
  CHECK(quail::checked_dns_name("Mail.Example.COM.") == "mail.example.com");
  CHECK(quail::checked_dns_name("mx_1.example-a.net") == "mx_1.example-a.net");
  CHECK(quail::checked_dns_name("") == "");   // the root (null MX)
  CHECK(quail::checked_dns_name(".") == "");
  CHECK_FALSE(quail::checked_dns_name("a..b"));
  CHECK_FALSE(quail::checked_dns_name(".a"));
  CHECK_FALSE(quail::checked_dns_name("a b.example"));
  CHECK_FALSE(quail::checked_dns_name("evil\\032.example"));  // c-ares's escape of an odd byte
  CHECK_FALSE(quail::checked_dns_name("x\n.example"));
  CHECK(quail::checked_dns_name(std::string(63, 'a') + ".example"));
  CHECK_FALSE(quail::checked_dns_name(std::string(64, 'a') + ".example"));
  std::string long_name;
  for (int i = 0; i < 64; ++i) long_name += "abc.";
  CHECK_FALSE(quail::checked_dns_name(long_name + "x"));  // 257 bytes
}

TEST_CASE("dns rdata: the reverse name of an address, for PTR") {
  CHECK(quail::reverse_dns_name("192.0.2.10") == "10.2.0.192.in-addr.arpa");
  CHECK(quail::reverse_dns_name("2001:db8::1") ==
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
  CHECK_FALSE(quail::reverse_dns_name("mail.example.com"));
  CHECK_FALSE(quail::reverse_dns_name("192.0.2"));
}
