// Dates as mail headers write them (RFC 5322 3.3), in local time with numeric zone
// or in UTC; the UTC forms use no glibc time code (no time-zone file, smaller
// static programs: smtpd's idle memory, bench/README.md).
#pragma once
#include <cstdint>
#include <ctime>
#include <string>

namespace quail {

// "Sat, 28 Nov 2026 14:05:16 +0100", local time (Date: and bounce headers)
std::string rfc5322_date(time_t t);
// "Sat, 28 Nov 2026 13:05:16 +0000": trace headers (Received), as qmail writes them in GMT
std::string rfc5322_date_utc(time_t t);

// A Unix time as a UTC calendar date, proleptic Gregorian.
struct UtcTime {
  int64_t year;
  unsigned month, day, hour, minute, second;  // month 1..12, day 1..31
  unsigned weekday;                           // 0 Sunday .. 6 Saturday
};
UtcTime utc_time(int64_t t);
// "Sat Nov 28 14:05:16 2026" (mbox From_ lines, asctime format, UTC)
std::string asctime_date(time_t t);

}  // namespace quail
