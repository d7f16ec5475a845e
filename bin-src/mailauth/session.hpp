// One SMTP session's checks: the policy read from control/ for this session,
// a DNS channel of its own, and the requests smtpd sends on fds 0 and 1 until it
// closes them. Both ways mailauth starts end here: exec'd by smtpd (`mailauth
// SID`) and forked by the resident helper (resident.hpp).
#pragma once
#include <functional>
#include <string>

namespace quail::mailauth {

class Checker;

inline constexpr int exit_ok = 0;
inline constexpr int exit_usage = 100;
inline constexpr int exit_temporary = 111;  // configuration unreadable, no resolver, a broken socket

// body with a Checker of this root's policy, read now; exit_temporary (logged)
// when the policy or the resolver cannot be had.
int with_checker(const std::string& root, const std::function<int(Checker&)>& body);
int serve_session(const std::string& root, const std::string& sid);

}  // namespace quail::mailauth
