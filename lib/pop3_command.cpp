// POP3 command lines: see pop3_command.hpp.
#include "pop3_command.hpp"

#include <charconv>
#include <vector>

namespace quail {
namespace {

struct Known {
  std::string_view name;
  Pop3Verb verb;
};
constexpr Known known[] = {
    {"USER", Pop3Verb::user}, {"PASS", Pop3Verb::pass}, {"AUTH", Pop3Verb::auth}, {"CAPA", Pop3Verb::capa},
    {"QUIT", Pop3Verb::quit}, {"STAT", Pop3Verb::stat}, {"LIST", Pop3Verb::list}, {"UIDL", Pop3Verb::uidl},
    {"RETR", Pop3Verb::retr}, {"DELE", Pop3Verb::dele}, {"TOP", Pop3Verb::top},   {"RSET", Pop3Verb::rset},
    {"NOOP", Pop3Verb::noop}, {"STLS", Pop3Verb::stls},
};

// A message number or a line count: 1 to 9 digits (RFC 1939 allows no sign, no blanks).
std::optional<uint32_t> number(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Arguments separated by single spaces (empty ones are malformed).
std::optional<std::vector<std::string_view>> split(std::string_view rest) {
  std::vector<std::string_view> out;
  if (rest.empty()) return out;
  for (;;) {
    size_t sp = rest.find(' ');
    std::string_view a = rest.substr(0, sp);
    if (a.empty() || out.size() == 2) return std::nullopt;
    out.push_back(a);
    if (sp == std::string_view::npos) return out;
    rest.remove_prefix(sp + 1);
  }
}

bool printable(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

Pop3Parse parse_pop3_command(std::string_view line, Pop3Command& out) {
  out = Pop3Command();
  if (!printable(line)) return Pop3Parse::syntax;
  size_t sp = line.find(' ');
  std::string_view kw = line.substr(0, sp);
  std::string_view rest = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  bool has_space = sp != std::string_view::npos;
  if (kw.size() > 4) kw = kw.substr(0, 4 + 1);  // long enough to be unknown, short for the log
  for (char c : kw) out.keyword += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
  for (const auto& k : known) {
    if (k.name == out.keyword) out.verb = k.verb;
  }
  if (out.verb == Pop3Verb::unknown) return Pop3Parse::unknown;

  if (out.verb == Pop3Verb::user || out.verb == Pop3Verb::pass) {
    // A password may hold spaces (RFC 1939 7 lets servers take the rest of the line).
    if (rest.empty()) return Pop3Parse::syntax;
    out.arg = rest;
    return Pop3Parse::ok;
  }
  auto args = split(rest);
  if (!args || (has_space && args->empty())) return Pop3Parse::syntax;
  const auto& a = *args;
  switch (out.verb) {
    case Pop3Verb::auth:
      if (a.empty()) return Pop3Parse::ok;  // a bare AUTH asks for the mechanisms (RFC 1734)
      for (char c : a[0]) out.arg += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
      if (a.size() == 2) out.initial = a[1];
      return Pop3Parse::ok;
    case Pop3Verb::list:
    case Pop3Verb::uidl:
      if (a.size() > 1) return Pop3Parse::syntax;
      if (a.size() == 1 && !(out.n = number(a[0]))) return Pop3Parse::syntax;
      return Pop3Parse::ok;
    case Pop3Verb::retr:
    case Pop3Verb::dele:
      if (a.size() != 1 || !(out.n = number(a[0]))) return Pop3Parse::syntax;
      return Pop3Parse::ok;
    case Pop3Verb::top: {
      if (a.size() != 2 || !(out.n = number(a[0]))) return Pop3Parse::syntax;
      auto l = number(a[1]);
      if (!l) return Pop3Parse::syntax;
      out.lines = *l;
      return Pop3Parse::ok;
    }
    default:
      return a.empty() ? Pop3Parse::ok : Pop3Parse::syntax;
  }
}

}  // namespace quail
