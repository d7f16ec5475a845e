// System logins' password hashes from shadow(5), read by checkpassword itself
// (as root) rather than through NSS, like lib/passwd_file reads /etc/passwd.
// Strict: a malformed line never matches.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "result.hpp"

namespace quail {

inline constexpr const char* system_shadow_path = "/etc/shadow";

struct ShadowEntry {
  std::string name;
  std::string hash;            // the crypt(3) string, or "!...", "*", "" for a locked login
  std::optional<int64_t> expire;  // days since 1970-01-01 after which the account is expired
};

// Parses one line (name:hash:lastchg:min:max:warn:inactive:expire:reserved);
// nullopt when it is not nine fields, or a number field is not a number.
std::optional<ShadowEntry> parse_shadow_line(std::string_view line);

// True when hash can ever match a password: a crypt(3) string, not a locked
// ("!...", "*...") or empty one.
bool usable_crypt_hash(std::string_view hash);

// The entry for name in the file at path; nullopt when absent; a temporary error
// when the file cannot be read (checkpassword then answers 111, never "no").
Result<std::optional<ShadowEntry>> shadow_by_name(std::string_view name, const std::string& path = system_shadow_path);

}  // namespace quail
