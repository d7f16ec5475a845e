// Identities and the uid switch: see identity.hpp. Runs as root, in local-spawn
// (the scheduler's start, each delivery child) and in checkpassword. Logins and
// groups come from /etc/passwd and /etc/group read here, not through NSS.
#include "identity.hpp"

#include <cerrno>
#include <cstring>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "address.hpp"
#include "group_file.hpp"
#include "passwd_file.hpp"

namespace quail {
namespace {

// The login name of uid, for its supplementary groups; "" when it has none.
std::string login_of(uid_t uid) {
  auto pw = passwd_by_uid(uid);
  return pw && *pw ? (*pw)->name : std::string();
}

}  // namespace

std::optional<Identity> identity_of(const std::string& login) {
  auto pw = passwd_by_name(login);
  if (!pw || !*pw) return std::nullopt;
  return Identity{(*pw)->uid, (*pw)->gid, (*pw)->name};
}

bool become(const Identity& id) {
  if (id.uid == 0) return false;
  std::vector<gid_t> groups;
  if (!id.name.empty()) {
    auto g = supplementary_groups(id.name, id.gid);
    if (!g) return false;
    groups = std::move(*g);
  }
  return become_with_groups(id, groups);
}

bool become_with_groups(const Identity& id, const std::vector<gid_t>& groups) {
  if (id.uid == 0) return false;
  if (::setgroups(groups.size(), groups.data()) != 0) return false;
  if (::setgid(id.gid) != 0 || ::setuid(id.uid) != 0) return false;
  return ::setuid(0) != 0 && ::getuid() == id.uid && ::geteuid() == id.uid;
}

std::optional<Identity> delivery_identity(const LocalConfig& cfg, const std::string& recipient, std::string& why,
                                          std::optional<std::optional<LocalTarget>>* looked_up) {
  if (auto addr = parse_address(recipient)) {
    auto target = lookup_local(cfg, *addr);
    if (!target) {
      why = target.error().reason;
      return std::nullopt;
    }
    if (looked_up) *looked_up = *target;
    if (target->has_value() && (*target)->kind == TargetKind::system_user) {
      const auto& t = **target;
      return Identity{t.uid, t.gid, login_of(t.uid)};
    }
  }
  struct stat st;
  std::string mail = cfg.root + "/mail";
  if (::stat(mail.c_str(), &st) != 0) {
    why = "unable to stat " + mail + ": " + std::strerror(errno);
    return std::nullopt;
  }
  return Identity{st.st_uid, st.st_gid, login_of(st.st_uid)};
}

}  // namespace quail
