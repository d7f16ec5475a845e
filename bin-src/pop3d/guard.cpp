// How long one POP3 client may hold its connection without using it: a cap on
// commands in a row that download nothing (control/maxjunkpop3d) and a lifetime
// for the whole session (control/timeoutpop3dsession), counted from the
// connection across both steps. A download is never cut: see man/pop3d.8
// ("Idle and busy"). Pure bookkeeping on lib/session_guard; the caller replies.
#include <ctime>

#include "clock.hpp"
#include "decimal.hpp"
#include "log.hpp"
#include "pop3d.hpp"

namespace quail::pop3d {

Result<SessionLimits> load_limits(const Control& control, int timeout_ms) {
  auto junk = control.integer("maxjunkpop3d");
  if (!junk) return junk.error();
  auto lifetime = control.integer("timeoutpop3dsession");
  if (!lifetime) return lifetime.error();
  return SessionLimits{timeout_ms, static_cast<unsigned>(*junk), *lifetime * 1000LL};
}

long long session_start(const char* arg) {
  long long now = monotonic_ms();
  if (!arg) return now;
  // The first step's clock reading (CLOCK_MONOTONIC is one clock for the whole
  // machine); anything else, or a time to come, starts the session now.
  auto v = parse_decimal(arg, decimal_int64_max);
  if (!v || static_cast<long long>(*v) > now) return now;
  return static_cast<long long>(*v);
}

bool Guard::admit(Step step, LineIo& io, std::string& why) {
  if (step == Step::quit) return true;  // QUIT commits the deletions: always served
  if (step == Step::junk && guard_.lifetime_over(monotonic_ms())) {
    log_info({{"sid", sid_}, {"event", "session_limit"}, {"limit", "lifetime"}});
    err(io, "session lasted too long, closing connection");
    why = "lifetime";
    return false;
  }
  if (step == Step::progress) {
    guard_.progress();
    return true;
  }
  if (guard_.junk()) return true;
  log_info({{"sid", sid_}, {"event", "session_limit"}, {"limit", "junk"}});
  err(io, std::string("too many commands without ") + progress_ + ", closing connection");
  why = "junk";
  return false;
}

}  // namespace quail::pop3d
