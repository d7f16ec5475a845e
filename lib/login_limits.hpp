// Failed logins counted per login name and per client address, in a small
// fixed-size file that outlives each checkpassword process and is shared by
// all of them under flock(2). Format, policy and what a crash leaves:
// queue-layout/logins.md. Never holds a name or address in clear, never a password.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "fd.hpp"
#include "result.hpp"

namespace quail {

struct LoginPolicy {
  int64_t window = 900;         // a count whose last failure is older than this (s) is forgotten
  uint32_t free_failures = 3;   // failures of a name before its logins are delayed
  // Failures from one address before its logins are delayed: higher, because many
  // users may share one address (NAT) and one user's typos must not slow the rest.
  uint32_t address_free_failures = 10;
  int64_t max_delay = 30;       // seconds
  uint32_t user_limit = 10;     // failures after which a login name is refused until the window passes
  uint32_t address_limit = 30;  // the same for a client address (many names tried from one place)
};

// How one login attempt stands before its password is checked.
struct LoginStanding {
  uint32_t user_failures = 0;
  uint32_t address_failures = 0;
  bool locked = false;  // over a limit: refuse without checking the password
  int64_t delay = 0;    // seconds to wait before checking it
};

// What the policy says for these counts: the delay doubles from 2 s with each
// failure past free_failures (for the name) or address_free_failures (for the
// address), up to max_delay; the larger of the two applies.
LoginStanding judge(const LoginPolicy& p, uint32_t user_failures, uint32_t address_failures);

class LoginLimits {
 public:
  // The file holds this many 32-byte slots (32 KiB).
  static constexpr uint32_t slots = 1024;
  // Opens (creating, mode 0600) the state file; temporary error on failure.
  static Result<LoginLimits> open(const std::string& path, LoginPolicy policy = {});

  // The standing of user from address (address may be empty: no per-address count).
  Result<LoginStanding> standing(std::string_view user, std::string_view address, int64_t now);
  // An attempt about to be checked: its standing from the counts before it and,
  // unless locked, one failure counted at once for the name and the address, so
  // attempts in flight together see each other (a botnet's parallel guesses
  // cannot all pass under the limits). settle() takes it back when it was no
  // failure; a wrong password needs nothing more.
  Result<LoginStanding> begin(std::string_view user, std::string_view address, int64_t now);
  enum class Settled { right, undecided };
  // How an attempt counted by begin() ended: the right password (the name's
  // count is cleared, the attempt taken off the address's) or undecided (a
  // temporary error: taken off both).
  Status settle(std::string_view user, std::string_view address, Settled how, int64_t now);
  // A failed attempt: both counts go up by one.
  Status record_failure(std::string_view user, std::string_view address, int64_t now);
  // A successful login clears the login name's count (not the address's: one
  // valid account must not reset a guesser's count).
  Status record_success(std::string_view user, int64_t now);

  const LoginPolicy& policy() const { return policy_; }

 private:
  LoginLimits(Fd fd, LoginPolicy p) : fd_(std::move(fd)), policy_(p) {}
  Result<LoginStanding> standing_locked(std::string_view user, std::string_view address, int64_t now);
  Fd fd_;
  LoginPolicy policy_;
};

// The path of the state file in an install: ROOT/run/login-failures.
std::string login_limits_path(const std::string& root);

}  // namespace quail
