// smtpd's and the resident dnsbl's lines: see dnsbl_wire.hpp.
#include "dnsbl_wire.hpp"

#include "address.hpp"

namespace quail {
namespace {

constexpr size_t max_text = 400;

bool printable(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return true;
}

}  // namespace

std::string dnsbl_socket_path(const std::string& root) { return root + "/run/dnsbl.sock"; }

std::string dnsbl_hello(std::string_view ip) {
  if (ip.size() + 2 > max_dnsbl_hello || !ip_literal_chars(ip)) ip = {};
  return "L" + std::string(ip) + "\n";
}

std::optional<std::string> parse_dnsbl_hello(std::string_view hello) {
  if (hello.size() < 3 || hello.size() > max_dnsbl_hello || hello.front() != 'L' || hello.back() != '\n') {
    return std::nullopt;
  }
  std::string_view ip = hello.substr(1, hello.size() - 2);
  if (!ip_literal_chars(ip)) return std::nullopt;
  return std::string(ip);
}

std::string dnsbl_safe_text(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, max_text)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

std::string format_dnsbl_verdict(const DnsblVerdict& v) {
  switch (v.action) {
    case DnsblAction::pass: return "P\n";
    case DnsblAction::allow: return "W" + dnsbl_safe_text(v.text) + "\n";
    case DnsblAction::block: return "B" + dnsbl_safe_text(v.text) + "\n";
    case DnsblAction::refuse: return "R" + dnsbl_safe_text(v.text) + "\n";
  }
  return "P\n";
}

std::optional<DnsblVerdict> parse_dnsbl_verdict(std::string_view line) {
  if (line.empty() || line.size() > max_dnsbl_verdict - 1) return std::nullopt;
  std::string_view text = line.substr(1);
  if (text.size() > max_text || !printable(text)) return std::nullopt;
  switch (line.front()) {
    case 'P': return text.empty() ? std::optional<DnsblVerdict>(DnsblVerdict{}) : std::nullopt;
    case 'W':
      if (text.empty()) return std::nullopt;
      return DnsblVerdict{DnsblAction::allow, std::string(text)};
    case 'B': return DnsblVerdict{DnsblAction::block, std::string(text)};
    case 'R': return DnsblVerdict{DnsblAction::refuse, std::string(text)};
    default: return std::nullopt;
  }
}

}  // namespace quail
