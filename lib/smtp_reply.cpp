// SMTP reply parsing for the client side: see smtp_reply.hpp.
#include "smtp_reply.hpp"

#include <charconv>

namespace quail {
namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

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

std::string SmtpReply::enhanced() const {
  if (lines.empty()) return "";
  std::string_view t = lines.front();
  // class "." subject "." detail: 1 digit, 1-3 digits, 1-3 digits (RFC 3463).
  if (t.size() < 5 || t[0] != static_cast<char>('0' + kind()) || t[1] != '.') return "";
  size_t i = 2, n = 0;
  while (i < t.size() && digit(t[i]) && n < 3) ++i, ++n;
  if (n == 0 || i >= t.size() || t[i] != '.') return "";
  ++i;
  n = 0;
  while (i < t.size() && digit(t[i]) && n < 3) ++i, ++n;
  if (n == 0 || (i < t.size() && t[i] != ' ')) return "";
  return std::string(t.substr(0, i));
}

std::string SmtpReply::quote() const {
  std::string out = std::to_string(code);
  for (size_t i = 0; i < lines.size(); ++i) {
    out += i == 0 ? " " : " / ";
    for (unsigned char c : lines[i]) out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
    if (out.size() > 400) break;
  }
  if (out.size() > 400) {
    out.resize(397);
    out += "...";
  }
  return out;
}

SmtpReplyReader::Step SmtpReplyReader::feed(std::string_view line) {
  if (line.size() < 3 || !digit(line[0]) || !digit(line[1]) || !digit(line[2])) return Step::bad;
  if (line[0] < '2' || line[0] > '5') return Step::bad;
  if (line.size() > 3 && line[3] != ' ' && line[3] != '-') return Step::bad;
  if (line.size() > max_reply_line || reply_.lines.size() >= max_reply_lines) return Step::bad;
  int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (!reply_.lines.empty() && code != reply_.code) return Step::bad;
  reply_.code = code;
  reply_.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
  return line.size() > 3 && line[3] == '-' ? Step::more : Step::done;
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
