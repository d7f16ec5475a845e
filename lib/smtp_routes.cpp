// Routing control files: see smtp_routes.hpp.
#include "smtp_routes.hpp"

#include <arpa/inet.h>
#include <charconv>

#include "address.hpp"

namespace quail {
namespace {

Error bad_line(const std::string& file, int line, const std::string& what) {
  return Error{ErrorKind::config, file + ":" + std::to_string(line) + ": " + what};
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool ip_address(const std::string& s) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

std::optional<uint16_t> parse_port(std::string_view s) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || s[0] == '0' || ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(v);
}

// "example", ".example" or "" (the key of smtproutes and tlspolicy lines).
bool valid_pattern(std::string_view d, bool allow_empty) {
  if (d.empty()) return allow_empty;
  if (d.front() == '.') d.remove_prefix(1);
  return valid_domain(d);
}

// The first ':' outside brackets, or npos.
size_t colon_outside_brackets(std::string_view s, size_t from = 0) {
  bool in = false;
  for (size_t i = from; i < s.size(); ++i) {
    if (s[i] == '[') in = true;
    else if (s[i] == ']') in = false;
    else if (s[i] == ':' && !in) return i;
  }
  return std::string_view::npos;
}

template <typename T>
const T* find_by_domain(const std::vector<T>& items, std::string_view domain, bool allow_default) {
  for (const auto& r : items) {
    if (r.domain == domain) return &r;
  }
  // Suffixes, longest first: for a.b.example try .b.example then .example.
  for (size_t dot = domain.find('.'); dot != std::string_view::npos; dot = domain.find('.', dot + 1)) {
    std::string_view suffix = domain.substr(dot);
    for (const auto& r : items) {
      if (r.domain == suffix) return &r;
    }
  }
  if (allow_default) {
    for (const auto& r : items) {
      if (r.domain.empty()) return &r;
    }
  }
  return nullptr;
}

}  // namespace

std::optional<RelayHost> parse_relay_host(std::string_view text, bool allow_port) {
  RelayHost h;
  std::string_view host = text, port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (!allow_port || rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
      if (port.empty()) return std::nullopt;
    }
    // RFC 5321 4.1.3: "[IPv6:::1]" is the address literal form for IPv6.
    if (host.size() > 5 && lower(host.substr(0, 5)) == "ipv6:") host.remove_prefix(5);
    h.name = lower(host);
    if (!ip_address(h.name)) return std::nullopt;
    h.literal = true;
  } else {
    size_t colon = text.find(':');
    if (colon != std::string_view::npos) {
      if (!allow_port) return std::nullopt;
      host = text.substr(0, colon);
      port = text.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
    if (!valid_domain(host)) return std::nullopt;
    h.name = lower(host);
  }
  if (!port.empty()) {
    auto p = parse_port(port);
    if (!p) return std::nullopt;
    h.port = *p;
  }
  return h;
}

Result<std::vector<SmtpRoute>> parse_smtproutes(const std::vector<ControlLine>& lines, const std::string& file) {
  std::vector<SmtpRoute> out;
  for (const auto& l : lines) {
    size_t colon = colon_outside_brackets(l.value);
    if (colon == std::string::npos) return bad_line(file, l.line, "expected domain:relay[:port]");
    SmtpRoute r;
    r.domain = lower(std::string_view(l.value).substr(0, colon));
    if (!valid_pattern(r.domain, true)) return bad_line(file, l.line, "not a domain: " + r.domain);
    std::string_view relay = std::string_view(l.value).substr(colon + 1);
    if (!relay.empty()) {
      r.relay = parse_relay_host(relay, true);
      if (!r.relay) return bad_line(file, l.line, "not a host[:port] or [address][:port]: " + std::string(relay));
    }
    out.push_back(std::move(r));
  }
  return out;
}

const SmtpRoute* find_route(const std::vector<SmtpRoute>& routes, std::string_view domain) {
  return find_by_domain(routes, domain, true);
}

Result<std::vector<TlsPolicy>> parse_tlspolicy(const std::vector<ControlLine>& lines, const std::string& file) {
  std::vector<TlsPolicy> out;
  for (const auto& l : lines) {
    size_t colon = l.value.find(':');
    if (colon == std::string::npos) return bad_line(file, l.line, "expected domain:mode");
    TlsPolicy p;
    p.domain = lower(std::string_view(l.value).substr(0, colon));
    if (!valid_pattern(p.domain, false)) return bad_line(file, l.line, "not a domain: " + p.domain);
    std::string mode = lower(std::string_view(l.value).substr(colon + 1));
    if (mode == "none") p.mode = TlsMode::none;
    else if (mode == "may") p.mode = TlsMode::may;
    else if (mode == "encrypt") p.mode = TlsMode::encrypt;
    else if (mode == "verify") p.mode = TlsMode::verify;
    else return bad_line(file, l.line, "unknown mode (none, may, encrypt, verify): " + mode);
    out.push_back(std::move(p));
  }
  return out;
}

TlsMode find_tls_mode(const std::vector<TlsPolicy>& policies, std::string_view domain) {
  const TlsPolicy* p = find_by_domain(policies, domain, false);
  return p ? p->mode : TlsMode::may;
}

std::string_view tls_mode_name(TlsMode m) {
  switch (m) {
    case TlsMode::none: return "none";
    case TlsMode::may: return "may";
    case TlsMode::encrypt: return "encrypt";
    case TlsMode::verify: return "verify";
  }
  return "may";
}

Result<std::vector<std::string>> parse_dnsservers(const std::vector<ControlLine>& lines, const std::string& file) {
  std::vector<std::string> out;
  for (const auto& l : lines) {
    std::string ip = l.value, port;
    if (size_t at = l.value.find('@'); at != std::string::npos) {
      ip = l.value.substr(0, at);
      port = l.value.substr(at + 1);
      if (!parse_port(port)) return bad_line(file, l.line, "not a port: " + port);
    }
    if (!ip_address(ip)) return bad_line(file, l.line, "not an IP address: " + ip);
    out.push_back(port.empty() ? ip : ip + "@" + port);
  }
  return out;
}

Result<std::vector<SmtpAuth>> parse_smtpauth(const std::vector<ControlLine>& lines, const std::string& file) {
  std::vector<SmtpAuth> out;
  for (const auto& l : lines) {
    size_t c1 = colon_outside_brackets(l.value);
    size_t c2 = c1 == std::string::npos ? c1 : l.value.find(':', c1 + 1);
    // Never quote the line: it holds a password.
    if (c2 == std::string::npos) return bad_line(file, l.line, "expected relay:user:password");
    auto relay = parse_relay_host(std::string_view(l.value).substr(0, c1), false);
    if (!relay) return bad_line(file, l.line, "not a host or [address]");
    SmtpAuth a{relay->name, l.value.substr(c1 + 1, c2 - c1 - 1), l.value.substr(c2 + 1)};
    if (a.user.empty() || a.password.empty()) return bad_line(file, l.line, "empty user or password");
    out.push_back(std::move(a));
  }
  return out;
}

const SmtpAuth* find_auth(const std::vector<SmtpAuth>& auths, const RelayHost& relay) {
  for (const auto& a : auths) {
    if (a.relay == relay.name) return &a;
  }
  return nullptr;
}

Status validate_routing_lines(std::string_view name, const std::vector<ControlLine>& lines, const std::string& file) {
  auto status = [](const auto& parsed) -> Status {
    if (!parsed) return parsed.error();
    return {};
  };
  if (name == "smtproutes") return status(parse_smtproutes(lines, file));
  if (name == "tlspolicy") return status(parse_tlspolicy(lines, file));
  if (name == "dnsservers") return status(parse_dnsservers(lines, file));
  if (name == "smtpauth") return status(parse_smtpauth(lines, file));
  return {};
}

Status validate_routing_files(const Control& c) {
  auto check = [&](const char* name, auto parse) -> Status {
    auto lines = c.lines(name);
    if (!lines) return lines.error();
    auto parsed = parse(*lines, c.dir() + "/" + name);
    if (!parsed) return parsed.error();
    return {};
  };
  if (auto s = check("smtproutes", parse_smtproutes); !s) return s;
  if (auto s = check("tlspolicy", parse_tlspolicy); !s) return s;
  if (auto s = check("dnsservers", parse_dnsservers); !s) return s;
  return check("smtpauth", parse_smtpauth);
}

}  // namespace quail
