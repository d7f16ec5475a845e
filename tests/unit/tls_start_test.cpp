// The start-TLS call's parsers (lib/tls_start): tlsd's report line, and the
// hello a session sends the resident tlsd.
#include <doctest/doctest.h>

#include <string>

#include "tls_start.hpp"

TEST_CASE("tls_start: tlsd's report is protocol and cipher") {
  auto r = quail::parse_tls_report("TLSv1.3 TLS_AES_256_GCM_SHA384");
  REQUIRE(r);
  CHECK(r->protocol == "TLSv1.3");
  CHECK(r->cipher == "TLS_AES_256_GCM_SHA384");
}

TEST_CASE("tls_start: a malformed report is refused") {
  for (const char* bad : {"", "TLSv1.3", "TLSv1.3 ", " x", "TLSv1.3 a b", "TLSv1.3 a\tb", "TLS\x01 x"}) {
    CAPTURE(bad);
    CHECK_FALSE(quail::parse_tls_report(bad));
  }
}

TEST_CASE("tls_start: the resident tlsd's hello carries an address and nothing else") {
  CHECK(quail::tls_hello("192.0.2.7") == "T192.0.2.7\n");
  CHECK(quail::tls_hello("2001:db8::1") == "T2001:db8::1\n");
  CHECK(quail::tls_hello("") == "T\n");
  // Not an address (a forged environment): sent as none, never as text for a log line.
  CHECK(quail::tls_hello("1.2.3.4 event=x") == "T\n");
  CHECK(quail::tls_hello(std::string(100, '1')) == "T\n");
  for (const char* ip : {"192.0.2.7", "2001:db8::1", "", "::ffff:127.0.0.1"}) {
    CAPTURE(std::string(ip));
    CHECK(quail::parse_tls_hello(quail::tls_hello(ip)) == std::string(ip));
  }
  for (const char* bad : {"", "T", "\n", "X1.2.3.4\n", "T1.2.3.4", "T1.2.3.4\n\n", "T1.2.3.4\nT\n", "T1 2\n",
                          "T1.2.3.4\r\n", "Tg\n"}) {
    CAPTURE(std::string(bad));
    CHECK_FALSE(quail::parse_tls_hello(bad).has_value());
  }
  CHECK_FALSE(quail::parse_tls_hello("T" + std::string(quail::max_tls_hello, '1') + "\n").has_value());
}
