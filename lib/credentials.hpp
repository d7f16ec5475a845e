// The checkpassword interface's input (cr.yp.to/checkpwd/interface.html): on
// fd 3, "user\0password\0timestamp\0", at most 512 bytes, as qmail's
// checkpassword reads it. Written by pop3d (and smtpd's AUTH), read by
// checkpassword. Trusts nothing: the parser is fuzzed (tests/fuzz/credentials_fuzz).
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "password.hpp"

namespace quail {

// What a checkpassword program reads at most from fd 3, as qmail's does.
inline constexpr size_t max_credentials = 512;

struct Credentials {
  std::string user;
  Secret password;
  std::string timestamp;  // APOP's challenge; empty for USER/PASS and AUTH PLAIN
};

// Parses the input: user, password and timestamp each end in a NUL; anything after
// the third NUL is ignored (as qmail's checkpassword does). nullopt when a field is
// unterminated, the user is empty, or the input is over max_credentials bytes.
std::optional<Credentials> parse_credentials(std::string_view input);

// The input for user and password (timestamp empty); nullopt when either holds a
// NUL or the whole would be over max_credentials bytes (no checkpassword could read it).
std::optional<Secret> encode_credentials(std::string_view user, std::string_view password);

}  // namespace quail
