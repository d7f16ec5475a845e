// tcprules parsing, cdb values and lookup order: see tcprules.hpp.
#include "tcprules.hpp"

#include <arpa/inet.h>
#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <netinet/in.h>
#include <sys/socket.h>

#include "decimal.hpp"

namespace quail {
namespace {

constexpr uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

IpAddress from_v6_bytes(const uint8_t* b) {
  IpAddress ip;
  if (std::memcmp(b, mapped_prefix, 12) == 0) {
    std::memcpy(ip.bytes.data(), b + 12, 4);
    return ip;
  }
  ip.v6 = true;
  std::memcpy(ip.bytes.data(), b, 16);
  return ip;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    size_t i = s.find(sep);
    out.push_back(s.substr(0, i));
    if (i == std::string_view::npos) return out;
    s.remove_prefix(i + 1);
  }
}

Error bad(std::string reason) { return Error{ErrorKind::format, std::move(reason)}; }

// A decimal octet as tcpserver writes it: 0-255, no leading zeros (which would never match).
std::optional<unsigned> parse_octet(std::string_view s) {
  auto v = parse_decimal(s, 255);
  if (!v) return std::nullopt;
  return static_cast<unsigned>(*v);
}

// "10.0.0.5", "10.0.", "10.0.0.1-9", "10.1-3." -> the keys they stand for.
Result<std::vector<std::string>> ipv4_keys(std::string_view key) {
  const std::string shown(key);
  bool prefix = key.back() == '.';
  if (prefix) key.remove_suffix(1);
  auto parts = split(key, '.');
  if (prefix && parts.size() > 3) return bad("bad address " + shown + ": an IPv4 prefix has at most three octets");
  if (!prefix && parts.size() != 4) {
    return bad("bad address " + shown + ": an IPv4 address has four octets, and a prefix ends with '.'");
  }
  std::vector<std::string> keys{""};
  bool ranged = false;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string_view part = parts[i];
    size_t dash = part.find('-');
    std::optional<unsigned> lo, hi;
    if (dash != std::string_view::npos) {
      if (ranged) return bad("bad address " + shown + ": only one octet may be a range");
      ranged = true;
      lo = parse_octet(part.substr(0, dash));
      hi = parse_octet(part.substr(dash + 1));
      if (lo && hi && *lo > *hi) return bad("bad address " + shown + ": a range runs from low to high");
    } else {
      lo = hi = parse_octet(part);
    }
    if (!lo || !hi) return bad("bad address " + shown + ": an octet is a number 0-255 without leading zeros");
    std::vector<std::string> next;
    for (const auto& k : keys) {
      for (unsigned v = *lo; v <= *hi; ++v) next.push_back(k + (i ? "." : "") + std::to_string(v));
    }
    keys = std::move(next);
  }
  if (prefix) {
    for (auto& k : keys) k += '.';
  }
  return keys;
}

// "2001:db8:" -> "2001:0db8:"; a prefix is whole groups, so "::" cannot appear in it.
Result<std::string> ipv6_prefix_key(std::string_view key) {
  auto groups = split(key.substr(0, key.size() - 1), ':');
  if (groups.size() > 7) return bad("bad address " + std::string(key) + ": an IPv6 prefix has at most seven groups");
  std::string out;
  for (auto g : groups) {
    bool hex = !g.empty() && g.size() <= 4;
    for (char c : g) hex = hex && std::isxdigit(static_cast<unsigned char>(c));
    if (!hex) {
      return bad("bad address " + std::string(key) +
                 ": an IPv6 prefix is whole groups of 1-4 hex digits, each ending with ':', without '::'");
    }
    out.append(4 - g.size(), '0');
    for (char c : g) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out += ':';
  }
  return out;
}

// The keys a rules-file address stands for, normalised as rule_keys() writes them.
Result<std::vector<std::string>> key_for(std::string_view key) {
  if (key.empty()) return std::vector<std::string>{""};
  if (key.front() == '=' || key.find('@') != std::string_view::npos) {
    return bad("host name and remote-info rules (" + std::string(key) +
               ") are not supported: tcpserver does no DNS or ident lookups");
  }
  bool bracketed = key.size() >= 2 && key.front() == '[' && key.back() == ']';
  std::string_view inner = bracketed ? key.substr(1, key.size() - 2) : key;
  if (inner.find(':') == std::string_view::npos) {
    if (bracketed) return bad("bad address " + std::string(key) + ": brackets hold an IPv6 address");
    return ipv4_keys(key);
  }
  if (inner.back() == ':' && !inner.ends_with("::")) {
    auto k = ipv6_prefix_key(inner);
    if (!k) return k.error();
    return std::vector<std::string>{*k};
  }
  auto ip = parse_ip(inner);
  if (!ip) {
    return bad("bad address " + std::string(key) +
               ": not an IPv6 address, nor a prefix of whole groups each ending with ':'");
  }
  return std::vector<std::string>{ip_rule_key(*ip)};
}

bool valid_env_name(std::string_view n) {
  if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0]))) return false;
  for (char c : n) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

// ",VAR="value",VAR=value..." after the verb.
Result<EnvList> parse_env(std::string_view s) {
  EnvList env;
  while (!s.empty()) {
    if (s[0] != ',') return bad("expected ',' before \"" + std::string(s) + "\"");
    s.remove_prefix(1);
    size_t eq = s.find('=');
    if (eq == std::string_view::npos) return bad("expected VAR=value after ','");
    std::string name(s.substr(0, eq));
    if (!valid_env_name(name)) return bad("bad variable name \"" + name + "\"");
    s.remove_prefix(eq + 1);
    std::string value;
    if (!s.empty() && (s[0] == '"' || s[0] == '\'')) {
      size_t end = s.find(s[0], 1);
      if (end == std::string_view::npos) return bad("unterminated quote in the value of " + name);
      value = s.substr(1, end - 1);
      s.remove_prefix(end + 1);
      if (!s.empty() && s[0] != ',') return bad("text after the quoted value of " + name);
    } else {
      size_t end = s.find(',');
      value = s.substr(0, end);
      s.remove_prefix(end == std::string_view::npos ? s.size() : end);
      if (value.find_first_of("\"'") != std::string::npos) return bad("a quote inside the unquoted value of " + name);
    }
    for (unsigned char c : value) {
      if ((c < 0x20 && c != '\t') || c == 0x7f) return bad("a control character in the value of " + name);
    }
    for (const auto& [n, v] : env) {
      if (n == name) return bad(name + " is set twice");
    }
    env.emplace_back(std::move(name), std::move(value));
  }
  return env;
}

}  // namespace

std::optional<IpAddress> parse_ip(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
    if (text.find(':') == std::string_view::npos) return std::nullopt;
  }
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  std::string s(text);
  uint8_t buf[16];
  if (s.find(':') != std::string::npos) {
    if (inet_pton(AF_INET6, s.c_str(), buf) != 1) return std::nullopt;
    return from_v6_bytes(buf);
  }
  if (inet_pton(AF_INET, s.c_str(), buf) != 1) return std::nullopt;
  IpAddress ip;
  std::memcpy(ip.bytes.data(), buf, 4);
  return ip;
}

std::optional<IpAddress> ip_from_sockaddr(const sockaddr* sa, uint16_t* port) {
  if (sa->sa_family == AF_INET) {
    sockaddr_in sin;
    std::memcpy(&sin, sa, sizeof sin);
    IpAddress ip;
    std::memcpy(ip.bytes.data(), &sin.sin_addr, 4);
    if (port) *port = ntohs(sin.sin_port);
    return ip;
  }
  if (sa->sa_family == AF_INET6) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, sa, sizeof sin6);
    if (port) *port = ntohs(sin6.sin6_port);
    return from_v6_bytes(sin6.sin6_addr.s6_addr);
  }
  return std::nullopt;
}

std::string ip_text(const IpAddress& ip) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(ip.v6 ? AF_INET6 : AF_INET, ip.bytes.data(), buf, sizeof buf);
  return buf;
}

std::string ip_network(const IpAddress& ip) {
  IpAddress net = ip;
  // A /24 is the smallest IPv4 block routed on the Internet; a /64 is one IPv6
  // subnet, in which one host may use any of 2^64 addresses.
  size_t keep = ip.v6 ? 8 : 3;
  std::fill(net.bytes.begin() + static_cast<long>(keep), net.bytes.end(), uint8_t{0});
  return ip_text(net) + (ip.v6 ? "/64" : "/24");
}

std::string ip_rule_key(const IpAddress& ip) {
  if (!ip.v6) return ip_text(ip);
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < 16; ++i) {
    if (i && i % 2 == 0) out += ':';
    out += hex[ip.bytes[i] >> 4];
    out += hex[ip.bytes[i] & 15];
  }
  return out;
}

std::vector<std::string> rule_keys(const IpAddress& ip) {
  std::string key = ip_rule_key(ip);
  const char sep = ip.v6 ? ':' : '.';
  std::vector<std::string> keys{key};
  key.pop_back();  // never ends with the separator, and this keeps the loop simple
  for (size_t i = key.rfind(sep); i != std::string::npos && i > 0; i = key.rfind(sep, i - 1)) {
    keys.push_back(key.substr(0, i + 1));
  }
  keys.emplace_back();
  return keys;
}

std::string encode_rule(const Rule& rule) {
  std::string out;
  if (!rule.allow) out.append("D", 2);  // tcprules writes the deny mark with its NUL
  for (const auto& [name, value] : rule.env) {
    out += '+';
    out += name;
    out += '=';
    out += value;
    out += '\0';
  }
  return out;
}

Result<Rule> decode_rule(std::string_view value) {
  Rule rule;
  bool first = true;
  while (!value.empty()) {
    size_t nul = value.find('\0');
    if (nul == std::string_view::npos) return bad("damaged rule: an entry without its NUL");
    std::string_view piece = value.substr(0, nul);
    value.remove_prefix(nul + 1);
    if (first && piece == "D") {
      rule.allow = false;
    } else {
      size_t eq = piece.find('=');
      if (piece.empty() || piece[0] != '+' || eq == std::string_view::npos || eq < 2) {
        return bad("damaged rule: an entry that is not +VAR=value");
      }
      rule.env.emplace_back(piece.substr(1, eq - 1), piece.substr(eq + 1));
    }
    first = false;
  }
  return rule;
}

Result<RuleLine> parse_rule_line(std::string_view line) {
  line = trim(line);
  static constexpr std::pair<std::string_view, bool> verbs[] = {{"allow", true}, {"deny", false}};
  for (size_t i = line.find(':'); i != std::string_view::npos; i = line.find(':', i + 1)) {
    std::string_view rest = line.substr(i + 1);
    for (auto [verb, allow] : verbs) {
      if (!rest.starts_with(verb) || (rest.size() > verb.size() && rest[verb.size()] != ',')) continue;
      auto keys = key_for(line.substr(0, i));
      if (!keys) return keys.error();
      auto env = parse_env(rest.substr(verb.size()));
      if (!env) return env.error();
      return RuleLine{std::move(*keys), Rule{allow, std::move(*env)}};
    }
  }
  return bad("expected <address>:allow or <address>:deny");
}

Result<std::vector<std::pair<std::string, std::string>>> compile_rules(std::string_view text,
                                                                       const std::string& file) {
  std::vector<std::pair<std::string, std::string>> records;
  std::map<std::string, size_t> seen;  // key -> line that set it
  size_t number = 0;
  for (std::string_view line : split(text, '\n')) {
    ++number;
    std::string_view t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    const std::string where = file + ":" + std::to_string(number) + ": ";
    if (line.find('\0') != std::string_view::npos) return bad(where + "a NUL byte in the line");
    auto parsed = parse_rule_line(t);
    if (!parsed) return bad(where + parsed.error().reason);
    std::string value = encode_rule(parsed->rule);
    for (auto& key : parsed->keys) {
      auto [it, fresh] = seen.emplace(key, number);
      if (!fresh) {
        return bad(where + "a second rule for " + (key.empty() ? "the default" : key) + " (line " +
                   std::to_string(it->second) + " has the first)");
      }
      records.emplace_back(std::move(key), value);
    }
  }
  return records;
}

Result<RuleMatch> match_rules(Cdb& db, const IpAddress& ip) {
  for (auto& key : rule_keys(ip)) {
    auto value = db.find(key);
    if (!value) return value.error();
    if (!*value) continue;
    auto rule = decode_rule(**value);
    if (!rule) return rule.error();
    return RuleMatch{true, std::move(key), std::move(*rule)};
  }
  return RuleMatch{};
}

Result<RuleMatch> match_rules_file(const std::string& path, const IpAddress& ip) {
  auto db = Cdb::open(path);
  if (!db) return db.error();
  auto m = match_rules(*db, ip);
  if (!m) return Error{m.error().kind, path + ": " + m.error().reason};
  return m;
}

}  // namespace quail
