// Dates as mail headers write them (RFC 5322 3.3), in local time with numeric zone.
#pragma once
#include <ctime>
#include <string>

namespace quail {

// "Sat, 28 Nov 2026 14:05:16 +0000"
std::string rfc5322_date(time_t t);
// "Sat Nov 28 14:05:16 2026" (mbox From_ lines, asctime format, UTC)
std::string asctime_date(time_t t);

}  // namespace quail
