// pop3d's two halves (RFC 1939 states): authorization, which reads the login and
// runs checkpassword with it on fd 3, and the transaction (and update) state,
// which checkpassword starts as the user on the same connection. See man/pop3d.8.
#pragma once
#include <string>
#include <string_view>

#include "control.hpp"
#include "line_io.hpp"
#include "result.hpp"
#include "session_guard.hpp"

namespace quail::pop3d {

// pop3d's exit codes: a session served, whatever its end, is 0.
inline constexpr int exit_ok = 0;
inline constexpr int exit_temporary = 111;  // configuration unreadable, out of memory, internal error

// Bad commands in one session before it is closed, and failed logins.
inline constexpr unsigned max_errors = 10;
inline constexpr unsigned max_login_failures = 3;

// Reply lines (CRLF added).
inline void ok(LineIo& io, std::string_view text) {
  io.write("+OK ");
  io.write(text);
  io.write("\r\n");
}
inline void err(LineIo& io, std::string_view text) {
  io.write("-ERR ");
  io.write(text);
  io.write("\r\n");
}

// Serves the authorization state on fd 0/1 until a login's session ends, QUIT,
// or the client goes; returns the exit code.
int authorize(const std::string& root, const std::string& sid, bool tls_first = false);
// Serves one logged-in session on the maildrop named by $MAILDIR (else
// $HOME/Maildir/); start: the first step's session_start argument (nullptr:
// now). Returns the exit code.
int serve_maildrop(const std::string& root, const std::string& sid, const char* start);

// guard.cpp: control/maxjunkpop3d and
// control/timeoutpop3dsession (config error when malformed); when the session
// began, from the decimal the first step passed (now when absent or not a past time).
Result<SessionLimits> load_limits(const Control& control, int timeout_ms);
long long session_start(const char* arg);

// What a command does for the guard: moves the session forward (a login
// attempt; the first RETR or TOP of a message, its first DELE), ends it, or
// neither (NOOP, STAT, LIST, CAPA, a RETR again ...).
enum class Step { progress, quit, junk };

// The limits of one step of a session (guard.cpp).
class Guard {
 public:
  // progress: what the junk cap's -ERR says the client did not do ("a login").
  Guard(const SessionLimits& limits, long long start_ms, const std::string& sid, const char* progress)
      : guard_(limits, start_ms), sid_(sid), progress_(progress) {}
  // Called before each command is served: false when the session must end,
  // after a -ERR to the client and a session_limit log line; why is then "junk"
  // or "lifetime". Once the lifetime is over only downloads and QUIT are served,
  // so a client fetching a big maildrop is never cut off in the middle.
  bool admit(Step step, LineIo& io, std::string& why);

 private:
  SessionGuard guard_;
  const std::string& sid_;
  const char* progress_;
};

}  // namespace quail::pop3d
