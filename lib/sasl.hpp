// SASL for SMTP AUTH (RFC 4954) and later POP3 AUTH (RFC 5034): strict base64
// (RFC 4648 4, padding required, no whitespace), the PLAIN message (RFC 4616)
// and LOGIN's two answers. Parsers of outside input: unit tested and fuzzed
// (tests/fuzz/sasl_fuzz.cpp). A password lives only in a SaslSecret, wiped when freed.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "result.hpp"

namespace quail {

// A string wiped with explicit_bzero when destroyed or moved from.
class SaslSecret {
 public:
  SaslSecret() = default;
  explicit SaslSecret(std::string s) : s_(std::move(s)) {}
  SaslSecret(const SaslSecret&) = delete;
  SaslSecret& operator=(const SaslSecret&) = delete;
  SaslSecret(SaslSecret&& o) noexcept : s_(std::move(o.s_)) { o.wipe(); }
  SaslSecret& operator=(SaslSecret&& o) noexcept;
  ~SaslSecret() { wipe(); }
  const std::string& str() const { return s_; }
  void wipe();

 private:
  std::string s_;
};

// Longest decoded AUTH answer we take (RFC 4954 4: lines up to 12,288 octets).
inline constexpr size_t sasl_max_decoded = 9216;

// Decodes strict base64; nullopt on any character outside the alphabet, a
// length not a multiple of 4, misplaced padding, non-zero pad bits, or a result
// longer than sasl_max_decoded. "" decodes to "".
std::optional<SaslSecret> base64_decode(std::string_view in);
std::string base64_encode(std::string_view in);

struct SaslLogin {
  std::string user;
  SaslSecret password;
};

// RFC 4616: [authzid] NUL authcid NUL passwd. An authzid other than the authcid is
// refused (we log in as the user, never on behalf of another); empty user or
// password, a third NUL, or fields over 255 octets are format errors.
Result<SaslLogin> parse_sasl_plain(const SaslSecret& decoded);

// A LOGIN answer (user name or password) after base64: no NUL, at most 255 octets.
bool valid_login_field(std::string_view s);

// The checkpassword input for a login: "user\0password\0timestamp\0".
SaslSecret checkpassword_input(const SaslLogin& l, std::string_view timestamp);

}  // namespace quail
