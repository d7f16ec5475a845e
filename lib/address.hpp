// Mail addresses as RFC 5321 defines them (Mailbox = Local-part "@" Domain).
// Address is built only by parse_address/parse_path; code downstream never re-validates.
#pragma once
#include <string>
#include <string_view>

#include "result.hpp"

namespace quail {

// RFC 5321 4.5.3.1: local part 64, domain 255, path 256 octets.
inline constexpr size_t max_local_part = 64;
inline constexpr size_t max_domain = 255;
inline constexpr size_t max_path = 256;

class Address {
 public:
  Address() = default;  // the null address <> (bounces)
  const std::string& local() const { return local_; }
  const std::string& domain() const { return domain_; }  // lowercased ASCII labels
  bool null() const { return local_.empty() && domain_.empty(); }
  bool quoted() const { return !local_.empty() && local_.front() == '"'; }
  // local@domain, "" for the null address.
  std::string str() const { return null() ? std::string() : local_ + "@" + domain_; }
  bool operator==(const Address&) const = default;

 private:
  friend Result<Address> parse_address(std::string_view, bool);
  std::string local_;
  std::string domain_;
};

// Parses `local@domain` (no angle brackets). The local part is a dot-string or a
// quoted string; UTF-8 is accepted when utf8 (SMTPUTF8). format / too_long errors.
Result<Address> parse_address(std::string_view text, bool utf8 = true);

// Parses an SMTP path: `<>` (null, when allow_null), `<local@domain>`, or a path
// with an RFC 5321 source route `<@a,@b:local@domain>` whose route is dropped.
// Sets had_route so a caller can refuse source routes.
Result<Address> parse_path(std::string_view text, bool allow_null, bool utf8, bool* had_route = nullptr);

// A domain name (LDH labels, or UTF-8 labels when utf8) or an address literal
// ([192.0.2.1], [IPv6:...]).
bool valid_domain(std::string_view d, bool utf8 = true);
// ASCII-lowercase.
std::string lowercase(std::string_view s);

// Whether s is made only of what an IPv4 or IPv6 address is written with (hex
// digits, dots, colons): what a helper's hello may carry into a log line.
bool ip_literal_chars(std::string_view s);

}  // namespace quail
