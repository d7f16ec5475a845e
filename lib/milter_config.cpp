// control/milters and its two companions: see milter_config.hpp.
#include "milter_config.hpp"

#include <arpa/inet.h>
#include <sys/un.h>

#include "decimal.hpp"

namespace quail::milter {
namespace {

Error config_error(const std::string& file, int line, const std::string& what) {
  return Error{ErrorKind::config, file + ":" + std::to_string(line) + ": " + what};
}

bool ip_address(const std::string& s) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    size_t start = s.find_first_not_of(" \t");
    if (start == std::string_view::npos) break;
    s.remove_prefix(start);
    size_t end = s.find_first_of(" \t");
    out.push_back(s.substr(0, end));
    s = end == std::string_view::npos ? std::string_view() : s.substr(end);
  }
  return out;
}

// "inet:HOST:PORT", HOST an address, [v6] or localhost.
bool parse_inet(std::string_view rest, FilterSpec& f) {
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string host(rest.substr(0, colon));
  auto port = parse_decimal(rest.substr(colon + 1), 65535);
  if (!port || *port == 0) return false;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  if (!ip_address(host)) return false;
  f.host = host;
  f.port = static_cast<uint16_t>(*port);
  return true;
}

}  // namespace

std::string_view default_action_name(DefaultAction a) { return a == DefaultAction::accept ? "accept" : "tempfail"; }

Result<DefaultAction> parse_default_action(std::string_view value, const std::string& file) {
  if (value == "tempfail") return DefaultAction::tempfail;
  if (value == "accept") return DefaultAction::accept;
  return config_error(file, 1, "not tempfail or accept: " + std::string(value));
}

Result<FilterSpec> parse_filter_spec(std::string_view value, const std::string& file, int line) {
  auto w = words(value);
  if (w.empty()) return config_error(file, line, "empty filter");
  FilterSpec f;
  f.spec = std::string(w[0]);
  std::string_view s = w[0];
  if (s.substr(0, 5) == "unix:") {
    f.unix_socket = true;
    f.path = std::string(s.substr(5));
    if (f.path.empty() || f.path[0] != '/' || f.path.size() >= sizeof(sockaddr_un::sun_path)) {
      return config_error(file, line, "unix: needs an absolute socket path shorter than 108 bytes");
    }
  } else if (s.substr(0, 5) == "inet:") {
    if (!parse_inet(s.substr(5), f)) return config_error(file, line, "inet: needs IP:PORT, [IPv6]:PORT or localhost:PORT");
  } else {
    return config_error(file, line, "a filter is unix:/path or inet:host:port: " + f.spec);
  }
  for (size_t i = 1; i < w.size(); ++i) {
    std::string_view o = w[i];
    if (o.substr(0, 8) == "timeout=") {
      auto t = parse_decimal(o.substr(8), 3600);
      if (!t || *t == 0 || f.timeout_s) return config_error(file, line, "timeout= takes 1..3600 seconds, once");
      f.timeout_s = static_cast<int>(*t);
    } else if (o.substr(0, 8) == "default=") {
      auto a = parse_default_action(o.substr(8), file);
      if (!a || f.fallback) return config_error(file, line, "default= takes tempfail or accept, once");
      f.fallback = *a;
    } else {
      return config_error(file, line, "unknown option " + std::string(o));
    }
  }
  return f;
}

Result<Config> load_config(const Control& control) {
  Config c;
  auto lines = control.lines("milters");
  if (!lines) return lines.error();
  if (lines->empty()) return c;
  auto timeout = control.integer("timeoutmilter");
  if (!timeout) return timeout.error();
  c.timeout_s = static_cast<int>(*timeout);
  auto fallback = control.line("milterdefault");
  if (!fallback) return fallback.error();
  auto action = parse_default_action(*fallback, control.dir() + "/milterdefault");
  if (!action) return action.error();
  c.fallback = *action;
  for (const auto& l : *lines) {
    auto f = parse_filter_spec(l.value, control.dir() + "/milters", l.line);
    if (!f) return f.error();
    if (!f->timeout_s) f->timeout_s = c.timeout_s;
    if (!f->fallback) f->fallback = c.fallback;
    c.filters.push_back(std::move(*f));
  }
  return c;
}

}  // namespace quail::milter
