// A session's waits, junk commands and lifetime: see session_guard.hpp.
#include "session_guard.hpp"

#include <algorithm>

namespace quail {

int effective_timeout_ms(int normal_ms, int busy_ms, bool busy) { return busy ? std::min(normal_ms, busy_ms) : normal_ms; }

int SessionGuard::command_wait_ms(long long now_ms) const {
  if (limits_.lifetime_ms <= 0) return limits_.timeout_ms;
  long long left = start_ms_ + limits_.lifetime_ms - now_ms;
  if (left <= 0) return 0;
  return static_cast<int>(std::min<long long>(left, limits_.timeout_ms));
}

bool SessionGuard::lifetime_over(long long now_ms) const {
  return limits_.lifetime_ms > 0 && now_ms - start_ms_ >= limits_.lifetime_ms;
}

bool SessionGuard::junk() {
  if (limits_.max_junk == 0) return true;
  if (junk_ < limits_.max_junk + 1) ++junk_;
  return junk_ <= limits_.max_junk;
}

}  // namespace quail
