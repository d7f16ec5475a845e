// The virtual users table: see users_table.hpp and man/quail.8 ("user").
#include "users_table.hpp"

#include <utility>
#include <vector>

#include "address.hpp"
#include "cdb.hpp"

namespace quail {
namespace {

bool local_char_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+' || c == '=' ||
         c == '-';
}

Error bad_name(std::string_view text, const std::string& why) {
  return Error{ErrorKind::format, "invalid user name " + std::string(text) + ": " + why};
}

}  // namespace

std::string users_cdb_path(const std::string& root) { return root + "/users/users.cdb"; }
std::string users_lock_path(const std::string& root) { return root + "/users/.lock"; }

Result<UserName> parse_user_name(std::string_view text) {
  size_t at = text.rfind('@');
  if (at == std::string_view::npos) return bad_name(text, "no @domain");
  UserName n{lowercase(text.substr(0, at)), lowercase(text.substr(at + 1))};
  if (n.local.empty()) return bad_name(text, "empty local part");
  if (n.local.size() > max_local_part) return bad_name(text, "local part over 64 characters");
  for (char c : n.local) {
    if (!local_char_ok(c)) return bad_name(text, "the local part may hold only a-z 0-9 . _ + = -");
  }
  if (n.local.front() == '.' || n.local.back() == '.' || n.local.find("..") != std::string::npos) {
    return bad_name(text, "misplaced dot in the local part");
  }
  if (n.domain.empty() || n.domain.front() == '[' || !valid_domain(n.domain, false)) {
    return bad_name(text, "not a domain name: " + n.domain);
  }
  return n;
}

UserEntry decode_user_value(std::string_view value) {
  if (!value.empty() && value.front() == '!') return {std::string(value.substr(1)), true};
  return {std::string(value), false};
}

std::string encode_user_value(const UserEntry& e) { return (e.disabled ? "!" : "") + e.hash; }

Result<std::optional<UserEntry>> lookup_user(const std::string& root, const std::string& key) {
  auto db = Cdb::open(users_cdb_path(root));
  if (!db) {
    if (db.error().kind == ErrorKind::not_found) return std::optional<UserEntry>();
    return Error{ErrorKind::temporary, db.error().reason};
  }
  auto v = db->find(key);
  if (!v) return Error{ErrorKind::temporary, users_cdb_path(root) + ": " + v.error().reason};
  if (!*v) return std::optional<UserEntry>();
  return std::optional<UserEntry>(decode_user_value(**v));
}

Result<UsersMap> load_users(const std::string& root) {
  UsersMap users;
  auto db = Cdb::open(users_cdb_path(root));
  if (!db) {
    if (db.error().kind == ErrorKind::not_found) return users;
    return Error{ErrorKind::temporary, db.error().reason};
  }
  auto all = db->all();
  if (!all) return Error{ErrorKind::temporary, users_cdb_path(root) + ": " + all.error().reason};
  for (auto& [k, v] : *all) users.emplace(std::move(k), std::move(v));
  return users;
}

Status save_users(const std::string& root, const UsersMap& users) {
  std::vector<std::pair<std::string, std::string>> records(users.begin(), users.end());
  // 0640: the hashes are for the owner (and checkpassword's group in a system install).
  return build_cdb(users_cdb_path(root), records, 0640);
}

}  // namespace quail
