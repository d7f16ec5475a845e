// What keeps one client session from holding its connection for ever: the wait
// for each command, a cap on commands that move nothing forward (NOOP, RSET,
// HELP ... in a row: renewing the timeout that way is not using the server), and a
// lifetime for the whole session, checked between commands so no message is cut
// in the middle. Pure bookkeeping: the program reads the clock and answers the
// client. See man/smtpd.8 ("Idle and busy").
#pragma once

namespace quail {

struct SessionLimits {
  int timeout_ms = 0;          // each wait for the client
  unsigned max_junk = 0;       // commands without progress in a row; 0: no cap
  long long lifetime_ms = 0;   // the whole session; 0: no limit
};

// The timeout for a session started while its server is busy (tcpserver's
// TCPBUSY): the shorter of the two, so a busy timeout above the normal one changes nothing.
int effective_timeout_ms(int normal_ms, int busy_ms, bool busy);

class SessionGuard {
 public:
  SessionGuard(const SessionLimits& limits, long long start_ms) : limits_(limits), start_ms_(start_ms) {}

  // The wait allowed for the next command: the timeout, or what is left of the
  // lifetime when that is less; 0 once the lifetime is over.
  int command_wait_ms(long long now_ms) const;
  bool lifetime_over(long long now_ms) const;
  // Counts a command that moved nothing forward; false once there were more than max_junk in a row.
  bool junk();
  // A message ended (accepted or refused after its data): the count starts again.
  void progress() { junk_ = 0; }
  int timeout_ms() const { return limits_.timeout_ms; }

 private:
  SessionLimits limits_;
  long long start_ms_;
  unsigned junk_ = 0;
};

}  // namespace quail
