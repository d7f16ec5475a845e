// Routing a request to a worker per uid: see uid_route.hpp. Runs as root in
// local-spawn's server; trusts the administrator's tables and files, opens
// nothing in a user's home, and trusts the request only as decode_request checked it.
#include "uid_route.hpp"

#include <cerrno>
#include <sys/stat.h>

#include "address.hpp"
#include "config_cache.hpp"
#include "forward_file.hpp"
#include "group_file.hpp"
#include "local_lookup.hpp"
#include "passwd_file.hpp"

namespace quail {
namespace {

// The owner of ROOT/mail: whom virtual users, aliases, postmaster and unknown
// addresses are delivered as (delivery_identity's rule).
std::optional<Identity> mail_owner(const std::string& root) {
  struct stat st;
  if (::stat((root + "/mail").c_str(), &st) != 0) return std::nullopt;
  auto pw = passwd_by_uid(st.st_uid);
  if (!pw) return std::nullopt;
  return Identity{st.st_uid, st.st_gid, *pw ? (*pw)->name : std::string()};
}

// An alias whose items include \user: the fork path delivers those as each login.
bool names_a_login(const LocalTarget& alias) {
  for (const auto& text : alias.alias_targets) {
    auto item = parse_forward_item(text);
    if (!item || item->kind == ForwardKind::self) return true;  // a bad item: let the child report it
  }
  return false;
}

}  // namespace

std::optional<Identity> worker_identity(const std::string& root, const std::string& recipient) {
  auto cfg = cached_local_config(root);
  if (!cfg) return std::nullopt;
  // The table smtpd validates with, not the homes: the server never lists or
  // opens a user's files (a child as root would; it takes what the table cannot say).
  cfg->homes = HomeAccess::table;
  auto addr = parse_address(recipient);
  if (!addr) return mail_owner(root);  // local-deliver refuses it, as the mail owner
  auto target = lookup_local(*cfg, *addr);
  if (!target) return std::nullopt;
  std::optional<Identity> id;
  if (!*target) {
    id = mail_owner(root);  // no such address: refused (5.1.1) as the mail owner
  } else if ((*target)->kind == TargetKind::system_user) {
    auto pw = passwd_by_uid((*target)->uid);  // the first login of the uid, as delivery_identity
    if (!pw) return std::nullopt;
    id = Identity{(*target)->uid, (*target)->gid, *pw ? (*pw)->name : std::string()};
  } else if ((*target)->kind == TargetKind::alias && names_a_login(**target)) {
    return std::nullopt;
  } else {
    id = mail_owner(root);
  }
  if (!id || id->uid == 0) return std::nullopt;  // the child refuses root, and says so
  return id;
}

std::string file_signature(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return errno == ENOENT ? "-" : "?" + std::to_string(errno);
  std::string out;
  for (long long v : {static_cast<long long>(st.st_dev), static_cast<long long>(st.st_ino),
                      static_cast<long long>(st.st_size), static_cast<long long>(st.st_mtim.tv_sec),
                      static_cast<long long>(st.st_mtim.tv_nsec), static_cast<long long>(st.st_ctim.tv_sec),
                      static_cast<long long>(st.st_ctim.tv_nsec)}) {
    out += std::to_string(v) + ",";
  }
  return out;
}

Result<std::vector<gid_t>> worker_groups(const Identity& who) {
  if (who.name.empty()) return std::vector<gid_t>();  // become()'s rule: no login, no groups
  return supplementary_groups(who.name, who.gid);
}

bool same_identity(const Identity& a, const Identity& b) {
  return a.uid == b.uid && a.gid == b.gid && a.name == b.name;
}

}  // namespace quail
