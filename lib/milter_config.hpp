// control/milters: the content filters smtpd consults, one per line, in order:
//   unix:/run/opendkim/opendkim.sock
//   inet:127.0.0.1:8891 timeout=10 default=accept
// Trusts the administrator's file; refuses anything it cannot read exactly.
// Spec: control/milters, man/smtpd.8 (MILTER).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control.hpp"
#include "result.hpp"

namespace quail::milter {

// What smtpd does when a filter cannot be reached, breaks the protocol or is
// slower than its timeout (Postfix's milter_default_action).
enum class DefaultAction { tempfail, accept };

struct FilterSpec {
  std::string spec;  // the line's first word, as written (for logs)
  bool unix_socket = false;
  std::string path;  // unix: the socket's path
  std::string host;  // inet: an IPv4 or IPv6 address
  uint16_t port = 0;
  int timeout_s = 0;  // 0: control/timeoutmilter
  std::optional<DefaultAction> fallback;  // unset: control/milterdefault
};

// One line's value ("unix:/path [timeout=N] [default=accept|tempfail]"); a config
// error naming file and line when malformed. Hosts are IP addresses or localhost:
// smtpd makes no DNS query for a filter.
Result<FilterSpec> parse_filter_spec(std::string_view value, const std::string& file, int line);
// "tempfail" or "accept" (control/milterdefault).
Result<DefaultAction> parse_default_action(std::string_view value, const std::string& file);
std::string_view default_action_name(DefaultAction a);

struct Config {
  std::vector<FilterSpec> filters;  // empty: no milter, nothing else is read
  int timeout_s = 30;
  DefaultAction fallback = DefaultAction::tempfail;
};

// Reads control/milters and, only when it names a filter, control/timeoutmilter
// and control/milterdefault; every filter gets its timeout and default filled in.
Result<Config> load_config(const Control& control);

}  // namespace quail::milter
