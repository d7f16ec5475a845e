// Password hashing with argon2id (libsodium's crypto_pwhash_str). Secret wipes
// itself; hashes are the self-describing "$argon2id$..." strings.
#pragma once
#include <string>
#include <string_view>

#include "result.hpp"

namespace quail {

// A string that is zeroed when destroyed (passwords, never logged).
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string s) : s_(std::move(s)) {}
  Secret(const Secret&) = delete;
  Secret(Secret&& o) noexcept : s_(std::move(o.s_)) { o.wipe(); }
  ~Secret() { wipe(); }
  const std::string& view() const { return s_; }
  void wipe();

 private:
  std::string s_;
};

// An argon2id hash of password (interactive limits); temporary error if libsodium fails.
Result<std::string> hash_password(const Secret& password);
// True when password matches hash; false for a wrong password or a malformed hash.
bool verify_password(const std::string& hash, const Secret& password);
// A password must be 1..1024 bytes with no NUL, CR or LF.
bool acceptable_password(std::string_view p);

}  // namespace quail
