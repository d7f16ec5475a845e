// The virtual users table ROOT/users/users.cdb: key "user@domain" (lowercased),
// value the argon2id hash; a value starting with "!" is a disabled user. Written by
// `quail user` (whole-table rewrite, atomic, under users/.lock), read by checkpassword.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "result.hpp"

namespace quail {

std::string users_cdb_path(const std::string& root);
std::string users_lock_path(const std::string& root);

// A virtual user's login name split and normalised.
struct UserName {
  std::string local;   // lowercased
  std::string domain;  // lowercased
  std::string key() const { return local + "@" + domain; }
};
// Parses "user@domain" as a virtual user's name: an ASCII local part of letters,
// digits and . _ + = - (no leading dot or "..", so it is a safe directory name),
// a valid domain. format error naming what is wrong.
Result<UserName> parse_user_name(std::string_view text);

struct UserEntry {
  std::string hash;  // without the "!" of a disabled user
  bool disabled = false;
};
// Splits a users.cdb value into hash and disabled flag.
UserEntry decode_user_value(std::string_view value);
std::string encode_user_value(const UserEntry& e);

// Looks one user up (checkpassword's read path): nullopt when absent; a missing
// users.cdb is an empty table; temporary error when the table cannot be read.
Result<std::optional<UserEntry>> lookup_user(const std::string& root, const std::string& key);

// The whole table, key -> value, sorted by key. A missing users.cdb is an empty table.
using UsersMap = std::map<std::string, std::string>;
Result<UsersMap> load_users(const std::string& root);
// Rewrites users.cdb from map atomically and durably (the caller holds users/.lock).
Status save_users(const std::string& root, const UsersMap& users);

}  // namespace quail
