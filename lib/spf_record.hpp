// SPF records (RFC 7208 4.5, 5, 6, 12): picking the one "v=spf1" record of a
// name and parsing it into terms, and the IP addresses and networks they name.
// Trusts nothing: a record is whatever a domain publishes (tests/fuzz/spf_record_fuzz.cpp).
// Macro-strings stay unexpanded here: they are expanded when evaluated (spf_macro).
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace quail::spf {

// A client address: IPv4 (v6 false, bytes[0..3]) or IPv6. An IPv4-mapped IPv6
// address is taken as IPv4 (RFC 7208 5: "IPv4-mapped IPv6 addresses ... MUST be
// checked as IPv4").
struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};
  static std::optional<IpAddress> parse(std::string_view text);
  // True when the first prefix bits of a and b agree (same family only).
  bool in_network(const IpAddress& net, int prefix) const;
  std::string str() const;  // dotted quad, or RFC 5952 text
};

enum class Qualifier : char { pass = '+', fail = '-', softfail = '~', neutral = '?' };
enum class MechanismKind { all, include, a, mx, ptr, ip4, ip6, exists };

struct Term {
  bool modifier = false;
  // A mechanism:
  Qualifier qualifier = Qualifier::pass;
  MechanismKind kind = MechanismKind::all;
  std::string domain_spec;  // unexpanded; "" means the current domain (a, mx, ptr)
  std::optional<IpAddress> network;  // ip4, ip6
  int cidr4 = 32;  // a, mx, ip4
  int cidr6 = 128;  // a, mx, ip6
  // A modifier: name (lowercased) and its unexpanded macro-string.
  std::string name;
  std::string value;
};

struct Record {
  std::vector<Term> terms;  // mechanisms and unknown modifiers, in order
  std::optional<std::string> redirect;
  std::optional<std::string> exp;
};

// True when txt is an SPF version 1 record: "v=spf1" alone or followed by a space
// (case-insensitive, RFC 7208 4.5).
bool is_spf_record(std::string_view txt);

// Parses one record; nullopt and why (for the permerror's reason) when any term is
// malformed or a modifier repeats (RFC 7208 4.6, 6).
std::optional<Record> parse_record(std::string_view txt, std::string& why);

// The syntax of a macro-string (RFC 7208 7.1); exp is true where c, r and t are allowed.
bool valid_macro_string(std::string_view s, bool exp);

}  // namespace quail::spf
