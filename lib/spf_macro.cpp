// SPF macro expansion: see spf_macro.hpp. RFC 7208 7.1 (syntax), 7.3 (transformers).
#include "spf_macro.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace quail::spf {
namespace {

bool in_set(char c, const char* set) { return c != '\0' && std::strchr(set, c) != nullptr; }

// i: dotted quad for IPv4; for IPv6 the 32 nibbles, dot-separated (RFC 7208 7.3).
std::string ip_dotted(const IpAddress& ip) {
  if (!ip.v6) return ip.str();
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < 16; ++i) {
    if (i) out += '.';
    out += hex[ip.bytes[i] >> 4];
    out += '.';
    out += hex[ip.bytes[i] & 0xf];
  }
  return out;
}

// RFC 3986 unreserved characters stay; everything else is %XX (uppercase macro letters).
std::string url_escape(std::string_view s) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || in_set(static_cast<char>(c), "-._~");
    if (keep) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  return out;
}

std::string letter_value(char letter, const MacroContext& c) {
  switch (letter) {
    case 's': return c.sender;
    case 'l': return c.local_part;
    case 'o': return c.sender_domain;
    case 'd': return c.domain;
    case 'i': return ip_dotted(c.ip);
    case 'p': return c.validated_name ? c.validated_name() : "unknown";
    case 'h': return c.helo;
    case 'v': return c.ip.v6 ? "ip6" : "in-addr";
    case 'c': return c.ip.str();
    case 'r': return c.receiver.empty() ? "unknown" : c.receiver;
    case 't': return std::to_string(c.now);
  }
  return "";
}

// Splits on the delimiters, reverses when asked, keeps the rightmost n parts (0:
// all) and joins them with dots.
std::string transform(const std::string& value, size_t n, bool reverse, std::string_view delims) {
  std::vector<std::string> parts(1);
  for (char ch : value) {
    if (delims.find(ch) != std::string_view::npos) {
      parts.emplace_back();
    } else {
      parts.back() += ch;
    }
  }
  if (reverse) std::reverse(parts.begin(), parts.end());
  size_t skip = n && n < parts.size() ? parts.size() - n : 0;
  std::string out;
  for (size_t i = skip; i < parts.size(); ++i) {
    if (i > skip) out += '.';
    out += parts[i];
  }
  return out;
}

}  // namespace

std::optional<std::string> expand_macros(std::string_view s, const MacroContext& c, bool exp) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto ch = static_cast<unsigned char>(s[i]);
    // An explanation may hold spaces (explain-string); a domain-spec may not.
    if ((ch < 0x21 && !(exp && ch == ' ')) || ch > 0x7e) return std::nullopt;
    if (ch != '%') {
      out += static_cast<char>(ch);
      continue;
    }
    if (++i >= s.size()) return std::nullopt;
    if (s[i] == '%') { out += '%'; continue; }
    if (s[i] == '_') { out += ' '; continue; }
    if (s[i] == '-') { out += "%20"; continue; }
    if (s[i] != '{' || ++i >= s.size()) return std::nullopt;
    char raw = s[i];
    char letter = (raw >= 'A' && raw <= 'Z') ? static_cast<char>(raw - 'A' + 'a') : raw;
    if (!in_set(letter, "slodiphv") && !(exp && in_set(letter, "crt"))) return std::nullopt;
    ++i;
    size_t n = 0, digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      // More parts than any name has: all of them (RFC 7208 7.3), without overflow.
      if (n < 1000) n = n * 10 + static_cast<size_t>(s[i] - '0');
      ++i;
      ++digits;
    }
    if (digits && n == 0) return std::nullopt;
    bool reverse = false;
    if (i < s.size() && (s[i] == 'r' || s[i] == 'R')) {
      reverse = true;
      ++i;
    }
    std::string delims;
    while (i < s.size() && in_set(s[i], ".-+,/_=")) delims += s[i++];
    if (i >= s.size() || s[i] != '}') return std::nullopt;
    std::string v = transform(letter_value(letter, c), n, reverse, delims.empty() ? "." : delims);
    out += raw != letter ? url_escape(v) : v;
  }
  return out;
}

std::string fit_domain(std::string name) {
  if (!name.empty() && name.back() == '.') name.pop_back();
  while (name.size() > 253) {
    size_t dot = name.find('.');
    if (dot == std::string::npos) return "";
    name.erase(0, dot + 1);
  }
  return name;
}

}  // namespace quail::spf
