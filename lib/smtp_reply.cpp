// A client's view of SMTP replies: see smtp_reply.hpp.
#include "smtp_reply.hpp"

#include <charconv>

namespace quail {
namespace {

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (upper(a[i]) != upper(b[i])) return false;
  }
  return true;
}

// The words of an EHLO line, split on spaces.
std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

std::string quote_reply(const SmtpReply& r) {
  std::string out = std::to_string(r.code);
  if (!r.enhanced.empty()) out += " " + r.enhanced;
  for (size_t i = 0; i < r.lines.size() && out.size() <= 400; ++i) {
    if (i > 0) out += " /";
    if (!r.lines[i].empty()) out += ' ';
    for (unsigned char c : r.lines[i]) out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  }
  if (out.size() > 400) {
    out.resize(397);
    out += "...";
  }
  return out;
}

EhloOffer parse_ehlo(const SmtpReply& reply) {
  EhloOffer o;
  // The first line is the server's greeting; keywords follow (RFC 5321 4.1.1.1).
  for (size_t i = 1; i < reply.lines.size(); ++i) {
    auto w = words(reply.lines[i]);
    if (w.empty()) continue;
    std::string_view k = w[0];
    if (iequal(k, "PIPELINING")) o.pipelining = true;
    else if (iequal(k, "STARTTLS")) o.starttls = true;
    else if (iequal(k, "DSN")) o.dsn = true;
    else if (iequal(k, "SMTPUTF8")) o.smtputf8 = true;
    else if (iequal(k, "8BITMIME")) o.eightbitmime = true;
    else if (iequal(k, "SIZE")) {
      o.size = true;
      if (w.size() > 1) {
        uint64_t v = 0;
        auto [p, ec] = std::from_chars(w[1].data(), w[1].data() + w[1].size(), v);
        if (ec == std::errc() && p == w[1].data() + w[1].size()) o.size_limit = v;
      }
    } else if (iequal(k, "AUTH") || iequal(k.substr(0, 5), "AUTH=")) {
      // "AUTH=LOGIN PLAIN" is the pre-standard form some servers still send.
      std::vector<std::string_view> mechs(w.begin() + 1, w.end());
      if (k.size() > 5) mechs.push_back(k.substr(5));
      for (auto m : mechs) {
        if (iequal(m, "PLAIN")) o.auth_plain = true;
        if (iequal(m, "LOGIN")) o.auth_login = true;
      }
    }
  }
  return o;
}

}  // namespace quail
