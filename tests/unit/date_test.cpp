// Unit tests for lib/date: RFC 5322 dates with fixed English names and a numeric
// zone, and asctime dates for mbox From_ lines (always UTC).
#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>

#include "date.hpp"

namespace {

// Sets TZ for the test and restores it afterwards.
struct TzGuard {
  std::optional<std::string> old;
  explicit TzGuard(const char* tz) {
    if (const char* o = std::getenv("TZ")) old = o;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~TzGuard() {
    if (old) {
      ::setenv("TZ", old->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }
};

}  // namespace

TEST_CASE("date: RFC 5322 date in UTC") {
  TzGuard tz("UTC");
  CHECK(quail::rfc5322_date(0) == "Thu, 1 Jan 1970 00:00:00 +0000");
  CHECK(quail::rfc5322_date(1700000000) == "Tue, 14 Nov 2023 22:13:20 +0000");
  CHECK(quail::rfc5322_date(951782400) == "Tue, 29 Feb 2000 00:00:00 +0000");
}

TEST_CASE("date: RFC 5322 date carries the local zone offset, east and west, with minutes") {
  {
    TzGuard tz("XST-2");  // POSIX: two hours east of UTC
    CHECK(quail::rfc5322_date(0) == "Thu, 1 Jan 1970 02:00:00 +0200");
  }
  {
    TzGuard tz("NST+3:30");  // three and a half hours west
    CHECK(quail::rfc5322_date(0) == "Wed, 31 Dec 1969 20:30:00 -0330");
  }
  {
    TzGuard tz("IST-5:30");
    CHECK(quail::rfc5322_date(1700000000) == "Wed, 15 Nov 2023 03:43:20 +0530");
  }
}

TEST_CASE("date: day and month names do not follow the locale") {
  TzGuard tz("UTC");
  const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int m = 0; m < 12; ++m) {
    struct tm t {};
    t.tm_year = 124;
    t.tm_mon = m;
    t.tm_mday = 15;
    time_t when = timegm(&t);
    std::string d = quail::rfc5322_date(when);
    CAPTURE(d);
    CHECK(d.find(std::string(" 15 ") + months[m] + " 2024 00:00:00 +0000") != std::string::npos);
  }
}

TEST_CASE("date: asctime date is UTC whatever the zone, with a space-padded day") {
  TzGuard tz("XST-2");
  CHECK(quail::asctime_date(0) == "Thu Jan  1 00:00:00 1970");
  CHECK(quail::asctime_date(1700000000) == "Tue Nov 14 22:13:20 2023");
}

TEST_CASE("utc dates agree with gmtime_r, before and after 1970, across leap days") {
  for (int64_t t = -5000000000LL; t < 5000000000LL; t += 86400LL * 37 + 3671) {
    time_t tt = static_cast<time_t>(t);
    struct tm tm;
    REQUIRE(gmtime_r(&tt, &tm) != nullptr);
    quail::UtcTime u = quail::utc_time(t);
    CHECK(u.year == tm.tm_year + 1900);
    CHECK(u.month == static_cast<unsigned>(tm.tm_mon + 1));
    CHECK(u.day == static_cast<unsigned>(tm.tm_mday));
    CHECK(u.hour == static_cast<unsigned>(tm.tm_hour));
    CHECK(u.minute == static_cast<unsigned>(tm.tm_min));
    CHECK(u.second == static_cast<unsigned>(tm.tm_sec));
    CHECK(u.weekday == static_cast<unsigned>(tm.tm_wday));
  }
}

TEST_CASE("trace headers' dates are UTC whatever TZ says") {
  CHECK(quail::rfc5322_date_utc(0) == "Thu, 1 Jan 1970 00:00:00 +0000");
  CHECK(quail::rfc5322_date_utc(951782400) == "Tue, 29 Feb 2000 00:00:00 +0000");
  CHECK(quail::rfc5322_date_utc(-1) == "Wed, 31 Dec 1969 23:59:59 +0000");
}
