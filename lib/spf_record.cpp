// Parsing SPF records: see spf_record.hpp. Grammar: RFC 7208 4.6.1, 5, 6, 7.1, 12.
#include "spf_record.hpp"

#include <arpa/inet.h>
#include <cstring>

namespace quail::spf {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower(c);
  return out;
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
// strchr without its trap: NUL is in every C string.
bool in_set(char c, const char* set) { return c != '\0' && std::strchr(set, c) != nullptr; }

// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
bool valid_toplabel(std::string_view l) {
  if (l.empty()) return false;
  bool alpha = false;
  for (char c : l) {
    if (is_alpha(c)) alpha = true;
    else if (!is_digit(c) && c != '-') return false;
  }
  if (l.front() == '-' || l.back() == '-') return false;
  return alpha || l.find('-') != std::string_view::npos;
}

// domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) / macro-expand
bool valid_domain_spec(std::string_view s) {
  if (s.empty() || !valid_macro_string(s, false)) return false;
  if (s.back() == '}') return true;  // ends in a macro-expand (a valid macro-string's '}' closes one)
  std::string_view t = s;
  if (t.back() == '.') t.remove_suffix(1);
  size_t dot = t.rfind('.');
  if (dot == std::string_view::npos) return false;
  // "%%.com" or "x%_.com": the label is literal text; a macro just before the dot is fine.
  return valid_toplabel(t.substr(dot + 1));
}

// "/N" with N in 0..max, no leading zero (ip4-cidr-length, ip6-cidr-length).
std::optional<int> parse_cidr(std::string_view digits, int max) {
  if (digits.empty() || digits.size() > 3) return std::nullopt;
  if (digits.size() > 1 && digits[0] == '0') return std::nullopt;
  int v = 0;
  for (char c : digits) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

// Splits a trailing dual-cidr-length ("/24", "//64", "/24//64") off arg.
bool split_dual_cidr(std::string_view& arg, int& cidr4, int& cidr6) {
  size_t dd = arg.rfind("//");
  if (dd != std::string_view::npos) {
    auto v6 = parse_cidr(arg.substr(dd + 2), 128);
    if (!v6) return false;
    cidr6 = *v6;
    arg = arg.substr(0, dd);
  }
  size_t slash = arg.rfind('/');
  if (slash != std::string_view::npos) {
    auto v4 = parse_cidr(arg.substr(slash + 1), 32);
    if (!v4) return false;
    cidr4 = *v4;
    arg = arg.substr(0, slash);
  }
  return true;
}

bool parse_mechanism(std::string_view t, Term& term, std::string& why) {
  if (!t.empty() && in_set(t[0], "+-~?")) {
    term.qualifier = static_cast<Qualifier>(t[0]);
    t.remove_prefix(1);
  }
  size_t end = 0;
  while (end < t.size() && t[end] != ':' && t[end] != '/') ++end;
  std::string name = lowercase(t.substr(0, end));
  std::string_view rest = t.substr(end);
  bool colon = !rest.empty() && rest[0] == ':';
  std::string_view arg = colon ? rest.substr(1) : rest;
  auto bad = [&](const char* what) {
    why = std::string(what) + ": " + std::string(t);
    return false;
  };
  if (name == "all") {
    if (!rest.empty()) return bad("all takes no argument");
    term.kind = MechanismKind::all;
  } else if (name == "include" || name == "exists") {
    term.kind = name == "include" ? MechanismKind::include : MechanismKind::exists;
    if (!colon || !valid_domain_spec(arg)) return bad("malformed domain");
    term.domain_spec = std::string(arg);
  } else if (name == "a" || name == "mx") {
    term.kind = name == "a" ? MechanismKind::a : MechanismKind::mx;
    if (!colon && !arg.empty() && arg[0] != '/') return bad("unknown mechanism");
    if (!split_dual_cidr(arg, term.cidr4, term.cidr6)) return bad("malformed CIDR length");
    if (colon && !valid_domain_spec(arg)) return bad("malformed domain");
    term.domain_spec = std::string(arg);
  } else if (name == "ptr") {
    term.kind = MechanismKind::ptr;
    if (!colon && !rest.empty()) return bad("malformed ptr");
    if (colon && !valid_domain_spec(arg)) return bad("malformed domain");
    term.domain_spec = std::string(arg);
  } else if (name == "ip4" || name == "ip6") {
    bool v6 = name == "ip6";
    term.kind = v6 ? MechanismKind::ip6 : MechanismKind::ip4;
    if (!colon) return bad("missing address");
    size_t slash = arg.find('/');
    if (slash != std::string_view::npos) {
      auto c = parse_cidr(arg.substr(slash + 1), v6 ? 128 : 32);
      if (!c) return bad("malformed CIDR length");
      (v6 ? term.cidr6 : term.cidr4) = *c;
      arg = arg.substr(0, slash);
    }
    // The address in its own family's syntax: "ip6:1.2.3.4" and a mapped address are errors.
    char buf[16];
    std::string text(arg);
    if (inet_pton(v6 ? AF_INET6 : AF_INET, text.c_str(), buf) != 1) return bad("malformed address");
    term.network = IpAddress::parse(text);
    if (!term.network || term.network->v6 != v6) return bad("malformed address");
  } else {
    return bad("unknown mechanism");
  }
  return true;
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  std::string s(text);
  IpAddress ip;
  if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) return ip;
  if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) != 1) return std::nullopt;
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(ip.bytes.data(), mapped, 12) == 0) {
    std::memmove(ip.bytes.data(), ip.bytes.data() + 12, 4);
    std::memset(ip.bytes.data() + 4, 0, 12);
    return ip;
  }
  ip.v6 = true;
  return ip;
}

bool IpAddress::in_network(const IpAddress& net, int prefix) const {
  if (v6 != net.v6) return false;
  int full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(bytes.data(), net.bytes.data(), static_cast<size_t>(full)) != 0) return false;
  if (rest == 0) return true;
  auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (bytes[static_cast<size_t>(full)] & mask) == (net.bytes[static_cast<size_t>(full)] & mask);
}

std::string IpAddress::str() const {
  char buf[INET6_ADDRSTRLEN] = "";
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
  return buf;
}

bool is_spf_record(std::string_view txt) {
  if (txt.size() < 6 || lowercase(txt.substr(0, 6)) != "v=spf1") return false;
  return txt.size() == 6 || txt[6] == ' ';
}

bool valid_macro_string(std::string_view s, bool exp) {
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x21 || c > 0x7e) return false;
    if (c != '%') continue;
    if (++i >= s.size()) return false;
    if (s[i] == '%' || s[i] == '_' || s[i] == '-') continue;
    if (s[i] != '{' || ++i >= s.size()) return false;
    char letter = lower(s[i]);
    if (!in_set(letter, "slodiphv") && !(exp && in_set(letter, "crt"))) return false;
    ++i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i < s.size() && lower(s[i]) == 'r') ++i;
    while (i < s.size() && in_set(s[i], ".-+,/_=")) ++i;
    if (i >= s.size() || s[i] != '}') return false;
  }
  return true;
}

std::optional<Record> parse_record(std::string_view txt, std::string& why) {
  if (!is_spf_record(txt)) {
    why = "not an SPF record";
    return std::nullopt;
  }
  Record r;
  size_t pos = 6;
  while (pos < txt.size()) {
    if (txt[pos] == ' ') {
      ++pos;
      continue;
    }
    size_t end = txt.find(' ', pos);
    if (end == std::string_view::npos) end = txt.size();
    std::string_view t = txt.substr(pos, end - pos);
    pos = end;
    Term term;
    // name "=" macro-string, name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
    size_t n = 0;
    if (!t.empty() && is_alpha(t[0])) {
      n = 1;
      while (n < t.size() && (is_alpha(t[n]) || is_digit(t[n]) || in_set(t[n], "-_."))) ++n;
    }
    if (n > 0 && n < t.size() && t[n] == '=') {
      term.modifier = true;
      term.name = lowercase(t.substr(0, n));
      term.value = std::string(t.substr(n + 1));
      if (term.name == "redirect" || term.name == "exp") {
        auto& slot = term.name == "redirect" ? r.redirect : r.exp;
        if (slot) {
          why = term.name + " appears twice";
          return std::nullopt;
        }
        if (!valid_domain_spec(term.value)) {
          why = "malformed domain: " + std::string(t);
          return std::nullopt;
        }
        slot = term.value;
        continue;
      }
      if (!valid_macro_string(term.value, false)) {
        why = "malformed modifier: " + std::string(t);
        return std::nullopt;
      }
      r.terms.push_back(std::move(term));  // unknown: kept for nothing, but checked
      continue;
    }
    if (!parse_mechanism(t, term, why)) return std::nullopt;
    r.terms.push_back(std::move(term));
  }
  return r;
}

}  // namespace quail::spf
