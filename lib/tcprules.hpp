// Client addresses and access rules in ucspi-tcp's tcprules syntax: the rules-file
// parser, the cdb value format (tcprules' own, so either tool reads the other's cdb
// for IPv4), and the lookup order tcpserver follows. See man/quail-rules.8 and
// man/tcpserver.8. Trusts nothing: rules text, cdb values and addresses are validated.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cdb.hpp"
#include "result.hpp"

struct sockaddr;

namespace quail {

// An IPv4 or IPv6 address. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is held,
// shown and looked up as the plain IPv4 address it carries.
struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4 uses the first 4
  bool operator==(const IpAddress&) const = default;
};

// Parses a literal: "192.0.2.1", "2001:db8::1", "[2001:db8::1]"; nullopt otherwise.
std::optional<IpAddress> parse_ip(std::string_view text);
// The address and port of an AF_INET/AF_INET6 sockaddr; nullopt for other families.
std::optional<IpAddress> ip_from_sockaddr(const sockaddr* sa, uint16_t* port);
// The address as shown to programs and logs: dotted IPv4, or RFC 5952 IPv6 ("::1").
std::string ip_text(const IpAddress& ip);
// The address as a rules key: dotted IPv4, or IPv6 with all eight groups written
// as four lowercase hex digits ("0000:0000:0000:0000:0000:0000:0000:0001").
std::string ip_rule_key(const IpAddress& ip);
// The network a client address belongs to for tcpserver's per-network limit: its
// IPv4 /24 ("192.0.2.0/24") or IPv6 /64 ("2001:db8:1:2::/64"), shown in RFC 5952 form.
std::string ip_network(const IpAddress& ip);
// The keys tried for ip, first match wins: the address, then every shorter prefix
// ending at a '.' (IPv4) or ':' (IPv6), then "" (the default rule).
std::vector<std::string> rule_keys(const IpAddress& ip);

using EnvList = std::vector<std::pair<std::string, std::string>>;

struct Rule {
  bool allow = true;
  EnvList env;  // VAR=value assignments, in the order written
  bool operator==(const Rule&) const = default;
};

// The cdb value of a rule, tcprules' format: "D\0" for deny, then "+VAR=value\0"
// for each assignment.
std::string encode_rule(const Rule& rule);
// The rule a cdb value holds; format error when it is not one encode_rule writes.
Result<Rule> decode_rule(std::string_view value);

struct RuleLine {
  std::vector<std::string> keys;  // normalised rules keys (a range gives several)
  Rule rule;
};
// Parses one non-comment line "<address>:allow|deny[,VAR="value"|,VAR=value ...]";
// format error with a reason (without file or line) when malformed.
Result<RuleLine> parse_rule_line(std::string_view line);
// Parses a whole rules file into cdb records in file order; a format error names
// "file:line". Blank lines and lines starting with '#' are skipped; a key given twice
// is an error (tcprules would silently keep the first).
Result<std::vector<std::pair<std::string, std::string>>> compile_rules(std::string_view text,
                                                                       const std::string& file);

struct RuleMatch {
  bool matched = false;  // false: no rule and no default; rule is then "allow"
  std::string key;       // the key that matched ("" for the default rule)
  Rule rule;
};
// The first rule for ip in db; format error when the cdb or a value is damaged.
Result<RuleMatch> match_rules(Cdb& db, const IpAddress& ip);
// Opens path for one lookup (so a rebuilt cdb takes effect at once); not_found
// when the file does not exist.
Result<RuleMatch> match_rules_file(const std::string& path, const IpAddress& ip);

}  // namespace quail
