// RFC 5322 dates: see date.hpp. Day and month names are fixed English, not locale's.
#include "date.hpp"

#include <cstdio>
#include <cstdlib>

namespace quail {
namespace {
const char* const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
}  // namespace

std::string rfc5322_date(time_t t) {
  struct tm tm;
  localtime_r(&t, &tm);
  long off = tm.tm_gmtoff / 60;
  char sign = off < 0 ? '-' : '+';
  off = std::labs(off);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday], tm.tm_mday,
                months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, sign, off / 60, off % 60);
  return buf;
}

// Days to civil date: H. Hinnant's algorithm (exact for every int64 day count in range).
UtcTime utc_time(int64_t t) {
  int64_t days = t / 86400, secs = t % 86400;
  if (secs < 0) {
    secs += 86400;
    --days;
  }
  UtcTime u;
  u.weekday = static_cast<unsigned>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
  days += 719468;                                             // from 1970-01-01 to 0000-03-01
  int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  auto doe = static_cast<unsigned>(days - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  u.day = doy - (153 * mp + 2) / 5 + 1;
  u.month = mp < 10 ? mp + 3 : mp - 9;
  u.year = static_cast<int64_t>(yoe) + era * 400 + (u.month <= 2 ? 1 : 0);
  u.hour = static_cast<unsigned>(secs / 3600);
  u.minute = static_cast<unsigned>(secs / 60 % 60);
  u.second = static_cast<unsigned>(secs % 60);
  return u;
}

std::string rfc5322_date_utc(time_t t) {
  UtcTime u = utc_time(t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %u %s %lld %02u:%02u:%02u +0000", days[u.weekday], u.day, months[u.month - 1],
                static_cast<long long>(u.year), u.hour, u.minute, u.second);
  return buf;
}

std::string asctime_date(time_t t) {
  UtcTime u = utc_time(t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s %s %2u %02u:%02u:%02u %lld", days[u.weekday], months[u.month - 1], u.day, u.hour,
                u.minute, u.second, static_cast<long long>(u.year));
  return buf;
}

}  // namespace quail
