// How long one client may hold its connection: the busy timeout (tcpserver's
// TCPBUSY), the cap on commands without a message (NOOP, RSET, HELP, VRFY,
// EXPN, HELO, EHLO: what keeps a connection alive without using it) and the
// session's lifetime, checked between commands. See man/smtpd.8 ("Idle and busy").
#include <cstdlib>
#include <ctime>

#include "clock.hpp"
#include "log.hpp"
#include "session.hpp"

namespace quail::smtpd {
namespace {

bool junk_verb(SmtpVerb v) {
  switch (v) {
    case SmtpVerb::noop:
    case SmtpVerb::rset:
    case SmtpVerb::help:
    case SmtpVerb::vrfy:
    case SmtpVerb::expn:
    case SmtpVerb::helo:
    case SmtpVerb::ehlo: return true;
    default: return false;
  }
}

}  // namespace

Status load_guard_settings(const Control& control, Settings& s) {
  auto busy = control.integer("timeoutsmtpdbusy");
  if (!busy) return busy.error();
  auto junk = control.integer("maxjunk");
  if (!junk) return junk.error();
  auto lifetime = control.integer("timeoutsmtpdsession");
  if (!lifetime) return lifetime.error();
  s.busy = std::getenv("TCPBUSY") != nullptr;
  s.timeout_ms = effective_timeout_ms(s.timeout_ms, static_cast<int>(*busy) * 1000, s.busy);
  s.guard = SessionLimits{s.timeout_ms, static_cast<unsigned>(*junk), *lifetime * 1000LL};
  return {};
}

SessionGuard Session::make_guard() const { return SessionGuard(s_.guard, monotonic_ms()); }

bool Session::guard_wait() {
  int wait = guard_.command_wait_ms(monotonic_ms());
  if (wait > 0) {
    io_.set_timeout(wait);
    return true;
  }
  guard_ended();
  return false;
}

bool Session::guard_ended() {
  if (!guard_.lifetime_over(monotonic_ms())) return false;
  log_info({{"sid", s_.sid}, {"event", "session_limit"}, {"limit", "lifetime"}});
  reply(io_, 421, "4.4.2", s_.me + " session lasted too long, closing connection");
  end_ = EndReason::limit;
  return true;
}

bool Session::guard_command(const SmtpCommand& c) {
  io_.set_timeout(guard_.timeout_ms());  // a message's data gets the whole timeout
  if (accepted_ + rejected_ != messages_seen_) {
    messages_seen_ = accepted_ + rejected_;
    guard_.progress();
  }
  if (!junk_verb(c.verb) || guard_.junk()) return true;
  log_info({{"sid", s_.sid}, {"event", "session_limit"}, {"limit", "junk"}});
  reply(io_, 421, "4.7.0", s_.me + " too many commands without a message, closing connection");
  end_ = EndReason::limit;
  return false;
}

}  // namespace quail::smtpd
