// Control file registry and strict readers: see control.hpp and control/README.md.
#include "control.hpp"

#include "address.hpp"
#include "decimal.hpp"
#include "fd.hpp"
#include "smtp_routes.hpp"

namespace quail {

const std::vector<ControlSpec>& control_registry() {
  static const std::vector<ControlSpec> registry = {
      {"me", ControlKind::line, "localhost", 0, 0, "all", "this host's fully qualified name: the greeting, Received lines, bounces"},
      {"defaultdomain", ControlKind::line, "=me", 0, 0, "sendmail, inject", "domain added to an address with no @"},
      {"locals", ControlKind::domains, "", 0, 0, "queue-send, local-deliver, smtpd", "domains delivered to system users and aliases on this host"},
      {"virtualdomains", ControlKind::domains, "", 0, 0, "queue-send, local-deliver, smtpd", "domains whose users are virtual (users/users.cdb)"},
      {"rcpthosts", ControlKind::domains, "", 0, 0, "smtpd", "domains accepted from clients without relay rights; .example matches subdomains"},
      {"concurrencylocal", ControlKind::integer, "20", 1, 1000, "queue-send", "local deliveries run at once"},
      {"concurrencyremote", ControlKind::integer, "20", 1, 1000, "queue-send", "remote deliveries run at once"},
      {"queuelifetime", ControlKind::integer, "604800", 60, 31536000, "queue-send", "seconds a message may stay queued before it bounces"},
      {"bouncefrom", ControlKind::line, "MAILER-DAEMON", 0, 0, "queue-send", "local part of the From: address of bounces"},
      {"doublebounceto", ControlKind::line, "postmaster", 0, 0, "queue-send", "local part (at control/me) that receives bounces that could not be delivered"},
      {"databytes", ControlKind::integer, "52428800", 0, 2147483647, "smtpd, queue-inject", "largest message accepted, in bytes; 0 means no limit"},
      {"maxrcpt", ControlKind::integer, "1000", 1, 100000, "smtpd", "recipients accepted per message"},
      {"timeoutsmtpd", ControlKind::integer, "300", 1, 86400, "smtpd", "seconds to wait for a client command or data"},
      {"timeoutprogram", ControlKind::integer, "3600", 1, 86400, "local-deliver", "seconds a .qmail |program may run before it is killed and the delivery deferred"},
      {"maxerrors", ControlKind::integer, "10", 1, 1000, "smtpd", "bad commands before the session is closed"},
      {"smtpgreeting", ControlKind::line, "=me", 0, 0, "smtpd", "text of the 220 greeting after the code"},
      {"smtproutes", ControlKind::list, "", 0, 0, "remote-deliver", "domain:relay[:port] routes that override MX lookup"},
      {"system", ControlKind::integer, "0", 0, 1, "quail, queue-send, local-deliver", "1 in a privilege-separated install (quail init --system): system users receive mail"},
      {"concurrencyincoming", ControlKind::integer, "100", 1, 100000, "quail up, tcpserver", "SMTP connections served at once per listener"},
      {"concurrencyperip", ControlKind::integer, "50", 1, 100000, "quail up, tcpserver", "SMTP connections served at once per client address"},
      {"backlog", ControlKind::integer, "256", 1, 65535, "quail up, tcpserver", "listen(2) backlog of each listener"},
      {"aliases", ControlKind::list, "", 0, 0, "quail-aliases", "aliases in /etc/aliases syntax, compiled into users/aliases.cdb by quail aliases"},
      {"dnsservers", ControlKind::list, "", 0, 0, "remote-deliver, smtpd", "IP addresses of the DNS resolvers to ask; empty means /etc/resolv.conf"},
      {"delaywarning", ControlKind::integer, "14400", 0, 31536000, "queue-send", "seconds after a message's birth before a recipient still deferred gets one delay notice; 0 sends none"},
      {"retryunitremote", ControlKind::integer, "300", 1, 86400, "queue-send", "seconds: remote attempt n of a message comes unit * n^2 after its birth"},
      {"concurrencyperdomain", ControlKind::integer, "10", 1, 1000, "queue-send", "remote deliveries run at once to one domain"},
      {"minuid", ControlKind::integer, "1000", 1, 4294967294, "smtpd, local-deliver, local-spawn, quail homes", "the smallest uid of a system login that receives mail (system installs)"},
      {"tlspolicy", ControlKind::list, "", 0, 0, "remote-deliver", "domain:mode lines (none, may, encrypt, verify): where STARTTLS is required and certificates verified"},
      {"smtpauth", ControlKind::list, "", 0, 0, "remote-deliver", "relay:user:password logins for smtproutes relays; readable only by remote-deliver's user"},
      {"timeoutconnect", ControlKind::integer, "60", 1, 86400, "remote-deliver", "seconds to wait for a TCP connection to a mail host"},
      {"timeoutgreeting", ControlKind::integer, "300", 1, 86400, "remote-deliver", "seconds to wait for a mail host's greeting"},
      {"timeoutremote", ControlKind::integer, "300", 1, 86400, "remote-deliver", "seconds to wait for the reply to each SMTP command"},
      {"timeoutdata", ControlKind::integer, "600", 1, 86400, "remote-deliver", "seconds to wait while sending each part of the message and for the reply to its end"},
      {"tls", ControlKind::directory, "", 0, 0, "tlsd, smtpd", "cert.pem (the certificate chain) and key.pem (its private key) for STARTTLS and implicit TLS"},
      {"sendas", ControlKind::list, "", 0, 0, "smtpd", "more sender addresses an authenticated user may use on the submission service"},
      {"checkpassword", ControlKind::list, "", 0, 0, "pop3d, smtpd", "path of the checkpassword program that verifies logins; empty means ROOT/bin/checkpassword"},
      {"timeoutpop3d", ControlKind::integer, "600", 1, 86400, "pop3d", "seconds to wait for a POP3 client command"},
  };
  return registry;
}

const ControlSpec* control_spec(std::string_view name) {
  for (const auto& s : control_registry()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

namespace {

constexpr size_t max_control_size = size_t{1} << 20;

Error config_error(const std::string& file, int line, const std::string& what) {
  return Error{ErrorKind::config, file + ":" + std::to_string(line) + ": " + what};
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool has_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

}  // namespace

Result<std::string> parse_control_line(std::string_view text, const std::string& file) {
  if (has_nul(text)) return config_error(file, 1, "contains a NUL byte");
  std::string_view first = text.substr(0, text.find('\n'));
  first = trim(first);
  if (first.empty()) return config_error(file, 1, "empty value");
  for (unsigned char c : first) {
    if (c < 0x20 || c == 0x7f) return config_error(file, 1, "control character in value");
  }
  return std::string(first);
}

Result<int64_t> parse_control_integer(std::string_view text, const std::string& file, int64_t min, int64_t max) {
  auto line = parse_control_line(text, file);
  if (!line) return line.error();
  const std::string& v = *line;
  // No sign (man/quail-control.5): every registered range is non-negative. Leading
  // zeros are harmless in a file a person writes; a value of any length past max,
  // even past UINT64_MAX, is out of range rather than wrapped.
  if (!is_decimal(v, LeadingZeros::allow)) return config_error(file, 1, "not a decimal integer: " + v);
  auto n = parse_decimal(v, max < 0 ? 0 : static_cast<uint64_t>(max), LeadingZeros::allow);
  if (!n || max < 0 || static_cast<int64_t>(*n) < min) {
    return config_error(file, 1, v + " is out of range " + std::to_string(min) + ".." + std::to_string(max));
  }
  return static_cast<int64_t>(*n);
}

Result<std::vector<ControlLine>> parse_control_lines(std::string_view text, const std::string& file, bool domains) {
  std::vector<ControlLine> out;
  int lineno = 0;
  size_t start = 0;
  while (start < text.size()) {
    ++lineno;
    size_t nl = text.find('\n', start);
    std::string_view raw = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    if (has_nul(raw)) return config_error(file, lineno, "contains a NUL byte");
    std::string_view v = trim(raw);
    if (v.empty() || v.front() == '#') continue;
    for (unsigned char c : v) {
      if (c < 0x20 || c == 0x7f) return config_error(file, lineno, "control character in value");
    }
    if (domains) {
      std::string_view d = v.front() == '.' ? v.substr(1) : v;
      if (!valid_domain(d)) return config_error(file, lineno, "not a domain name: " + std::string(v));
      out.push_back({lineno, lowercase(v)});
    } else {
      out.push_back({lineno, std::string(v)});
    }
  }
  return out;
}

Result<std::vector<std::string>> parse_control_list(std::string_view text, const std::string& file, bool domains) {
  auto lines = parse_control_lines(text, file, domains);
  if (!lines) return lines.error();
  std::vector<std::string> out;
  out.reserve(lines->size());
  for (auto& l : *lines) out.push_back(std::move(l.value));
  return out;
}

Result<std::string> Control::raw(std::string_view name) const {
  return read_file(dir_ + "/" + std::string(name), max_control_size);
}

Result<std::string> Control::line(std::string_view name) const {
  const ControlSpec* spec = control_spec(name);
  auto text = raw(name);
  if (!text) {
    if (text.error().kind != ErrorKind::not_found) return Error{ErrorKind::config, text.error().reason};
    if (!spec) return Error{ErrorKind::config, "unknown control file " + std::string(name)};
    if (spec->fallback == "=me") return line("me");
    return std::string(spec->fallback);
  }
  return parse_control_line(*text, dir_ + "/" + std::string(name));
}

Result<int64_t> Control::integer(std::string_view name) const {
  const ControlSpec* spec = control_spec(name);
  if (!spec) return Error{ErrorKind::config, "unknown control file " + std::string(name)};
  auto text = raw(name);
  std::string file = dir_ + "/" + std::string(name);
  if (!text) {
    if (text.error().kind != ErrorKind::not_found) return Error{ErrorKind::config, text.error().reason};
    return parse_control_integer(spec->fallback, file + " (default)", spec->min, spec->max);
  }
  return parse_control_integer(*text, file, spec->min, spec->max);
}

Result<std::vector<std::string>> Control::list(std::string_view name) const {
  const ControlSpec* spec = control_spec(name);
  if (!spec) return Error{ErrorKind::config, "unknown control file " + std::string(name)};
  auto text = raw(name);
  std::string file = dir_ + "/" + std::string(name);
  bool domains = spec->kind == ControlKind::domains;
  if (!text) {
    if (text.error().kind != ErrorKind::not_found) return Error{ErrorKind::config, text.error().reason};
    return parse_control_list(spec->fallback, file + " (default)", domains);
  }
  return parse_control_list(*text, file, domains);
}

Result<std::vector<ControlLine>> Control::lines(std::string_view name) const {
  const ControlSpec* spec = control_spec(name);
  if (!spec) return Error{ErrorKind::config, "unknown control file " + std::string(name)};
  auto text = raw(name);
  std::string file = dir_ + "/" + std::string(name);
  bool domains = spec->kind == ControlKind::domains;
  if (!text) {
    if (text.error().kind != ErrorKind::not_found) return Error{ErrorKind::config, text.error().reason};
    return parse_control_lines(spec->fallback, file + " (default)", domains);
  }
  return parse_control_lines(*text, file, domains);
}

Status Control::validate_all() const {
  for (const auto& s : control_registry()) {
    switch (s.kind) {
      case ControlKind::line:
        if (auto r = line(s.name); !r) return r.error();
        break;
      case ControlKind::integer:
        if (auto r = integer(s.name); !r) return r.error();
        break;
      case ControlKind::list:
      case ControlKind::domains:
        if (auto r = list(s.name); !r) return r.error();
        break;
      case ControlKind::directory:
        break;  // tlsd reads and checks its own files, per connection
    }
  }
  // Files whose lines have a syntax of their own.
  return validate_routing_files(*this);
}

}  // namespace quail
