// New passwords from stdin or the terminal: see password_input.hpp.
#include "password_input.hpp"

#include <cerrno>
#include <termios.h>
#include <unistd.h>

#include "fd.hpp"

namespace quail {
namespace {

constexpr size_t max_line = 4096;

// One line from fd 0 without its "\n" (or "\r\n"); a last line without "\n" counts.
Result<Secret> read_line() {
  std::string buf;
  buf.reserve(max_line + 1);  // no reallocation leaves an unwiped copy behind
  char c;
  for (;;) {
    ssize_t n = ::read(0, &c, 1);
    if (n < 0) {
      if (errno == EINTR) continue;
      Secret wipe(std::move(buf));
      return sys_error(ErrorKind::temporary, "read the password");
    }
    if (n == 0 || c == '\n') break;
    if (buf.size() >= max_line) {
      Secret wipe(std::move(buf));
      return Error{ErrorKind::permanent, "password longer than 1024 bytes"};
    }
    buf.push_back(c);
  }
  if (!buf.empty() && buf.back() == '\r') buf.pop_back();
  return Secret(std::move(buf));
}

// Prompts on fd 2 and reads a line with the terminal's echo off.
Result<Secret> prompt(const char* text) {
  (void)write_all(2, text);
  termios saved;
  bool restore = ::tcgetattr(0, &saved) == 0;
  if (restore) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    ::tcsetattr(0, TCSAFLUSH, &quiet);
  }
  auto line = read_line();
  if (restore) ::tcsetattr(0, TCSAFLUSH, &saved);
  return line;
}

// The raw entry: from the terminal twice, else one line of stdin.
Result<Secret> read_entry() {
  if (!::isatty(0)) return read_line();
  auto pw = prompt("Password: ");
  if (!pw) return pw;
  auto again = prompt("Retype password: ");
  if (!again) return again;
  if (again->view() != pw->view()) return Error{ErrorKind::permanent, "the two passwords differ"};
  return pw;
}

}  // namespace

Result<Secret> read_new_password() {
  auto pw = read_entry();
  if (pw && !acceptable_password(pw->view())) {
    return Error{ErrorKind::permanent, "unacceptable password: it must be 1 to 1024 bytes without NUL, CR or LF"};
  }
  return pw;
}

}  // namespace quail
