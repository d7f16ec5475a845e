// The start-TLS call's parser of tlsd's report line (lib/tls_start).
#include <doctest/doctest.h>

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
