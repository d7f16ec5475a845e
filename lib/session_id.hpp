// Session ids for the log (sid=): 12 hex digits, new for each connection.
#pragma once
#include <string>

namespace quail {

// 48 random bits from getrandom(2); before the kernel has entropy, from the time and pid.
std::string new_session_id();

}  // namespace quail
