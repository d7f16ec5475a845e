// Session ids for the log (sid=): 12 hex digits, new for each connection.
// (smtpd keeps its own copy of this function until the TLS work on it lands;
// it should then call this one.)
#pragma once
#include <string>

namespace quail {

// 48 random bits from getrandom(2); before the kernel has entropy, from the time and pid.
std::string new_session_id();

}  // namespace quail
