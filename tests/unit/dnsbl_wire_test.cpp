// lib/dnsbl_wire: what smtpd and the resident dnsbl say to each other. A
// verdict reaches smtpd's environment and the client's screen, so what does
// not parse must never become a refusal or an allowlisting.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "dnsbl_wire.hpp"

TEST_CASE("dnsbl_wire: the hello carries an address and nothing else") {
  CHECK(quail::dnsbl_hello("192.0.2.7") == "L192.0.2.7\n");
  CHECK(quail::dnsbl_hello("2001:db8::1") == "L2001:db8::1\n");
  // Not an address (a forged environment): sent as none, which the helper refuses.
  CHECK(quail::dnsbl_hello("1.2.3.4 event=x") == "L\n");
  CHECK_FALSE(quail::parse_dnsbl_hello(quail::dnsbl_hello("1.2.3.4 event=x")).has_value());
  for (const char* ip : {"192.0.2.7", "2001:db8::1", "::ffff:127.0.0.1"}) {
    CAPTURE(std::string(ip));
    CHECK(quail::parse_dnsbl_hello(quail::dnsbl_hello(ip)) == std::string(ip));
  }
  for (const char* bad : {"", "L", "L\n", "T1.2.3.4\n", "L1.2.3.4", "L1.2.3.4\n\n", "L1 2\n", "L1.2.3.4\r\n", "Lg\n"}) {
    CAPTURE(std::string(bad));
    CHECK_FALSE(quail::parse_dnsbl_hello(bad).has_value());
  }
  CHECK_FALSE(quail::parse_dnsbl_hello("L" + std::string(quail::max_dnsbl_hello, '1') + "\n").has_value());
}

TEST_CASE("dnsbl_wire: each verdict reads back as it was written") {
  using quail::DnsblAction;
  for (auto v : {quail::DnsblVerdict{}, quail::DnsblVerdict{DnsblAction::allow, "wl.test"},
                 quail::DnsblVerdict{DnsblAction::block, "listed by bl.test"},
                 quail::DnsblVerdict{DnsblAction::refuse, "https://bl.test/q?ip=192.0.2.7"}}) {
    std::string line = quail::format_dnsbl_verdict(v);
    REQUIRE(line.back() == '\n');
    line.pop_back();
    auto back = quail::parse_dnsbl_verdict(line);
    REQUIRE(back.has_value());
    CHECK(back->action == v.action);
    CHECK(back->text == v.text);
  }
  CHECK(quail::format_dnsbl_verdict({}) == "P\n");
}

TEST_CASE("dnsbl_wire: a TXT record's text is cut and made printable before it is sent") {
  quail::DnsblVerdict v{quail::DnsblAction::block, "spam\r\n250 OK\x01" + std::string(600, 'x')};
  std::string line = quail::format_dnsbl_verdict(v);
  CHECK(line.size() == 1 + 400 + 1);
  CHECK(line.find('\r') == std::string::npos);
  CHECK(line.substr(0, 14) == "Bspam??250 OK?");
  line.pop_back();
  CHECK(quail::parse_dnsbl_verdict(line).has_value());
}

TEST_CASE("dnsbl_wire: a verdict that does not parse is no verdict") {
  for (const std::string& bad : std::vector<std::string>{"", "X", "Pextra", "W", "B\ttab", std::string("Rnul\0", 5),
                                                         "Bline\n", "b text", "B" + std::string(401, 'x')}) {
    CAPTURE(bad);
    CHECK_FALSE(quail::parse_dnsbl_verdict(bad).has_value());
  }
  // A block with no text still refuses (smtpd's reply gets a text of its own).
  CHECK(quail::parse_dnsbl_verdict("B").has_value());
}
