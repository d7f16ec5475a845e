// pop3d's two halves (RFC 1939 states): authorization, which reads the login and
// runs checkpassword with it on fd 3, and the transaction (and update) state,
// which checkpassword starts as the user on the same connection. See man/pop3d.8.
#pragma once
#include <string>
#include <string_view>

#include "line_io.hpp"

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
int authorize(const std::string& root, const std::string& sid);
// Serves one logged-in session on the maildrop named by $MAILDIR (else
// $HOME/Maildir/); returns the exit code.
int serve_maildrop(const std::string& root, const std::string& sid);

}  // namespace quail::pop3d
