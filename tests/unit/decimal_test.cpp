// Unit tests for lib/decimal: the strict decimal reader every format's numbers go
// through. Its contract: digits only, no wrap, no saturation, the caller's maximum.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "decimal.hpp"

using quail::is_decimal;
using quail::LeadingZeros;
using quail::parse_decimal;

TEST_CASE("decimal: the boundaries of int64_t and uint64_t") {
  CHECK(parse_decimal("9223372036854775807", UINT64_MAX) == uint64_t{INT64_MAX});
  CHECK(parse_decimal("9223372036854775808", UINT64_MAX) == uint64_t{INT64_MAX} + 1);
  CHECK(parse_decimal("18446744073709551615", UINT64_MAX) == UINT64_MAX);
  CHECK(parse_decimal("9223372036854775807", quail::decimal_int64_max) == uint64_t{INT64_MAX});
  CHECK_FALSE(parse_decimal("9223372036854775808", quail::decimal_int64_max).has_value());
  CHECK_FALSE(parse_decimal("18446744073709551615", quail::decimal_int64_max).has_value());
  // Past UINT64_MAX: refused however many digits, never wrapped (2^64 + 5 is not 5).
  for (const char* n : {"18446744073709551616", "18446744073709551621", "18446744073709551625", "99999999999999999999",
                        "100000000000000000000", "123456789012345678901234", "184467440737095516150"}) {
    CAPTURE(std::string(n));
    CHECK(is_decimal(n));
    CHECK_FALSE(parse_decimal(n, UINT64_MAX).has_value());
  }
}

TEST_CASE("decimal: every maximum is exact, small ones included") {
  CHECK(parse_decimal("0", 0) == 0u);
  CHECK_FALSE(parse_decimal("1", 0).has_value());
  CHECK(parse_decimal("9", 9) == 9u);
  CHECK_FALSE(parse_decimal("10", 9).has_value());
  CHECK(parse_decimal("255", 255) == 255u);
  CHECK_FALSE(parse_decimal("256", 255).has_value());
  CHECK_FALSE(parse_decimal("4294967551", 255).has_value());  // 2^32 + 255
  for (uint64_t max = 0; max < 1000; max += 7) {
    for (uint64_t v = 0; v < 1010; v += 3) {
      CAPTURE(max);
      CAPTURE(v);
      auto r = parse_decimal(std::to_string(v), max);
      CHECK(r.has_value() == (v <= max));
      if (r) CHECK(*r == v);
    }
  }
}

TEST_CASE("decimal: digits only; leading zeros only where the format allows them") {
  for (const char* bad : {"", "-1", "+1", "-0", " 1", "1 ", "1\n", "0x10", "1e3", "1.0", "1,000", "\xd9\xa1"}) {
    CAPTURE(std::string(bad));
    CHECK_FALSE(is_decimal(bad, LeadingZeros::allow));
    CHECK_FALSE(parse_decimal(bad, UINT64_MAX, LeadingZeros::allow).has_value());
  }
  CHECK_FALSE(parse_decimal(std::string("1\0", 2), UINT64_MAX).has_value());
  CHECK(parse_decimal("0", UINT64_MAX) == 0u);
  CHECK_FALSE(parse_decimal("00", UINT64_MAX).has_value());
  CHECK_FALSE(parse_decimal("007", UINT64_MAX).has_value());
  CHECK(parse_decimal("007", UINT64_MAX, LeadingZeros::allow) == 7u);
  CHECK(parse_decimal("00000000000000000000000018446744073709551615", UINT64_MAX, LeadingZeros::allow) == UINT64_MAX);
  CHECK_FALSE(parse_decimal("00000000000000000000000018446744073709551616", UINT64_MAX, LeadingZeros::allow).has_value());
}
