// checkpassword: the checkpassword interface (cr.yp.to/checkpwd/interface.html):
// reads user\0password\0timestamp\0 on fd 3, and on a right password runs the
// program named by its arguments as that user, with USER, HOME and MAILDIR set.
// Slows guessing per login name and per client address (lib/login_limits).
// See man/checkpassword.8. Trusts nothing on fd 3; trusts the control files.
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <sodium.h>
#include <unistd.h>

#include "control.hpp"
#include "credentials.hpp"
#include "log.hpp"
#include "login.hpp"
#include "login_limits.hpp"
#include "program.hpp"
#include "root.hpp"

namespace {

constexpr int exit_refused = 1;      // wrong password, unknown or disabled user
constexpr int exit_usage = 2;        // no program to run, fd 3 not open, malformed input
constexpr int exit_locked = 3;       // too many failures: refused unchecked until they age out
constexpr int exit_temporary = 111;  // a table or control file unreadable, a failed exec

// Reads fd 3 to its end (at most max_credentials + 1 bytes, so an overlong input shows).
int read_input(std::string& out) {
  char buf[quail::max_credentials + 1];
  size_t have = 0;
  while (have < sizeof buf) {
    ssize_t n = ::read(3, buf + have, sizeof buf - have);
    if (n == 0) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno == EBADF ? exit_usage : exit_temporary;
    have += static_cast<size_t>(n);
  }
  ::close(3);
  out.assign(buf, have);
  sodium_memzero(buf, sizeof buf);
  return 0;
}

void log_login(const char* result, const std::string& user, const std::string& ip, std::string_view why = {}) {
  if (why.empty()) quail::log_info({{"event", "login"}, {"result", result}, {"user", user}, {"ip", ip}});
  else quail::log_warn({{"event", "login"}, {"result", result}, {"user", user}, {"ip", ip}, {"reason", why}});
}

// Becomes the login and runs the program; returns only on failure.
int start(const quail::checkpassword::Login& l, char** prog) {
  if (::setenv("USER", l.user.c_str(), 1) != 0 || ::setenv("HOME", l.home.c_str(), 1) != 0 ||
      ::setenv("MAILDIR", l.maildir.c_str(), 1) != 0) {
    return exit_temporary;
  }
  if (::geteuid() == 0 && l.become && !quail::become(*l.become)) {
    quail::log_error({{"event", "login"}, {"result", "error"}, {"user", l.user}, {"reason", "unable to switch to the login's uid"}});
    return exit_temporary;
  }
  if (::chdir(l.home.c_str()) != 0) {
    quail::log_error({{"event", "login"}, {"result", "error"}, {"user", l.user},
                      {"reason", quail::sys_error(quail::ErrorKind::temporary, "chdir " + l.home).reason}});
    return exit_temporary;
  }
  ::execv(prog[0], prog);
  quail::log_error({{"event", "login"}, {"result", "error"}, {"user", l.user},
                    {"reason", quail::sys_error(quail::ErrorKind::temporary, std::string("run ") + prog[0]).reason}});
  return exit_temporary;
}

int run(int argc, char** argv) {
  if (argc < 2) {
    quail::log_error({{"event", "usage"}, {"reason", "usage: checkpassword prog [args...]"}});
    return exit_usage;
  }
  std::string input;
  if (int code = read_input(input); code != 0) return code;
  auto creds = quail::parse_credentials(input);
  quail::Secret wipe(std::move(input));
  if (!creds) {
    quail::log_warn({{"event", "usage"}, {"reason", "malformed input on fd 3"}});
    return exit_usage;
  }
  const char* remote = std::getenv("TCPREMOTEIP");
  const std::string ip = remote ? remote : "";
  const std::string root = quail::resolve_root(nullptr);
  auto system = quail::Control(root).integer("system");
  if (!system) return log_login("error", creds->user, ip, system.error().reason), exit_temporary;

  auto limits = quail::LoginLimits::open(quail::login_limits_path(root));
  if (!limits) return log_login("error", creds->user, ip, limits.error().reason), exit_temporary;
  // Counted as a failure before the check, taken back below when it is none:
  // guesses made in parallel see each other (queue-layout/logins.md).
  auto standing = limits->begin(creds->user, ip, std::time(nullptr));
  if (!standing) return log_login("error", creds->user, ip, standing.error().reason), exit_temporary;
  if (standing->locked) return log_login("locked", creds->user, ip, "too many failed logins"), exit_locked;
  // Waits outside the lock: other logins go on meanwhile.
  if (standing->delay > 0) ::sleep(static_cast<unsigned>(standing->delay));

  auto verdict = quail::checkpassword::check_login(root, *system == 1, *creds);
  int64_t now = std::time(nullptr);
  using Settled = quail::LoginLimits::Settled;
  if (!verdict) {
    if (auto s = limits->settle(creds->user, ip, Settled::undecided, now); !s) {
      log_login("error", creds->user, ip, s.error().reason);
    }
    return log_login("error", creds->user, ip, verdict.error().reason), exit_temporary;
  }
  if (!verdict->login) {
    log_login("refused", creds->user, ip, verdict->refusal);
    return exit_refused;
  }
  if (auto s = limits->settle(creds->user, ip, Settled::right, now); !s) {
    log_login("error", creds->user, ip, s.error().reason);
  }
  log_login("ok", verdict->login->user, ip);
  return start(*verdict->login, argv + 1);
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("checkpassword", {exit_temporary, exit_temporary}, [&] { return run(argc, argv); });
}
