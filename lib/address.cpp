// RFC 5321 address syntax (section 4.1.2) with the limits of 4.5.3.1.
#include "address.hpp"

#include <arpa/inet.h>

namespace quail {
namespace {

bool is_atext(unsigned char c, bool utf8) {
  if (c >= 0x80) return utf8;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '/': case '=': case '?': case '^': case '_': case '`': case '{':
    case '|': case '}': case '~':
      return true;
    default:
      return false;
  }
}

bool valid_dot_string(std::string_view s, bool utf8) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char prev = 0;
  for (unsigned char c : s) {
    if (c == '.') {
      if (prev == '.') return false;
    } else if (!is_atext(c, utf8)) {
      return false;
    }
    prev = static_cast<char>(c);
  }
  return true;
}

// "..." with qtextSMTP or quoted-pairSMTP (backslash + printable).
bool valid_quoted_string(std::string_view s, bool utf8) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\\') {
      if (i + 2 >= s.size()) return false;
      unsigned char n = static_cast<unsigned char>(s[++i]);
      if (n < 32 || n > 126) return false;
    } else if (c == '"') {
      return false;
    } else if (c >= 0x80) {
      if (!utf8) return false;
    } else if (c < 32 || c > 126) {
      return false;
    }
  }
  return true;
}

bool valid_label(std::string_view l, bool utf8) {
  if (l.empty() || l.size() > 63 || l.front() == '-' || l.back() == '-') return false;
  for (unsigned char c : l) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              (utf8 && c >= 0x80);
    if (!ok) return false;
  }
  return true;
}

bool valid_literal(std::string_view d) {
  std::string inner(d.substr(1, d.size() - 2));
  unsigned char buf[16];
  // The tag is case-insensitive (RFC 5321 4.1.3): domains are stored lowercased.
  if (inner.size() > 5 && lowercase(inner.substr(0, 5)) == "ipv6:") return inet_pton(AF_INET6, inner.c_str() + 5, buf) == 1;
  return inet_pton(AF_INET, inner.c_str(), buf) == 1;
}

}  // namespace

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool valid_domain(std::string_view d, bool utf8) {
  if (d.empty() || d.size() > max_domain) return false;
  if (d.front() == '[') return d.back() == ']' && d.size() > 2 && valid_literal(d);
  size_t start = 0;
  for (;;) {
    size_t dot = d.find('.', start);
    std::string_view label = d.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!valid_label(label, utf8)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

Result<Address> parse_address(std::string_view text, bool utf8) {
  if (text.size() > max_path) return Error{ErrorKind::too_long, "address longer than 256 octets"};
  // The domain is after the last @ outside a quoted local part.
  size_t at;
  if (!text.empty() && text.front() == '"') {
    size_t close = 1;
    while (close < text.size() && text[close] != '"') close += (text[close] == '\\') ? 2 : 1;
    if (close >= text.size()) return Error{ErrorKind::format, "unterminated quoted local part"};
    at = close + 1;
    if (at >= text.size() || text[at] != '@') return Error{ErrorKind::format, "no @ after the quoted local part"};
  } else {
    at = text.find('@');
    if (at == std::string_view::npos) return Error{ErrorKind::format, "address has no @domain"};
  }
  std::string_view local = text.substr(0, at);
  std::string_view domain = text.substr(at + 1);
  if (local.size() > max_local_part) return Error{ErrorKind::too_long, "local part longer than 64 octets"};
  if (local.empty()) return Error{ErrorKind::format, "empty local part"};
  if (!(local.front() == '"' ? valid_quoted_string(local, utf8) : valid_dot_string(local, utf8))) {
    return Error{ErrorKind::format, "malformed local part"};
  }
  if (!valid_domain(domain, utf8)) return Error{ErrorKind::format, "malformed domain"};
  Address a;
  a.local_ = std::string(local);
  a.domain_ = lowercase(domain);
  return a;
}

Result<Address> parse_path(std::string_view text, bool allow_null, bool utf8, bool* had_route) {
  if (had_route) *had_route = false;
  if (text.size() < 2 || text.front() != '<' || text.back() != '>') {
    return Error{ErrorKind::format, "path must be enclosed in <>"};
  }
  std::string_view inner = text.substr(1, text.size() - 2);
  if (inner.empty()) {
    if (!allow_null) return Error{ErrorKind::format, "null path not allowed here"};
    return Address{};
  }
  if (inner.front() == '@') {
    // A-d-l ":" Mailbox: each hop must be @domain; the route itself is ignored (RFC 5321 C).
    size_t colon = inner.find(':');
    if (colon == std::string_view::npos) return Error{ErrorKind::format, "malformed source route"};
    std::string_view route = inner.substr(0, colon);
    size_t start = 0;
    while (start < route.size()) {
      size_t comma = route.find(',', start);
      std::string_view hop = route.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (hop.size() < 2 || hop.front() != '@' || !valid_domain(hop.substr(1), utf8)) {
        return Error{ErrorKind::format, "malformed source route"};
      }
      if (comma == std::string_view::npos) break;
      start = comma + 1;
      if (start == route.size()) return Error{ErrorKind::format, "malformed source route"};
    }
    if (had_route) *had_route = true;
    inner = inner.substr(colon + 1);
  }
  return parse_address(inner, utf8);
}

bool ip_literal_chars(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' || c == ':')) {
      return false;
    }
  }
  return true;
}

}  // namespace quail
