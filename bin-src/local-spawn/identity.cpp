// Identities and the uid switch: see identity.hpp. Runs as root, in local-spawn
// (the scheduler's start) and in each delivery child before it delivers.
#include "identity.hpp"

#include <cerrno>
#include <cstring>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "address.hpp"

namespace quail {

std::optional<Identity> identity_of(const std::string& login) {
  struct passwd* pw = ::getpwnam(login.c_str());
  if (!pw) return std::nullopt;
  return Identity{pw->pw_uid, pw->pw_gid, pw->pw_name};
}

bool become(const Identity& id) {
  if (id.uid == 0) return false;
  if (!id.name.empty() ? ::initgroups(id.name.c_str(), id.gid) != 0 : ::setgroups(0, nullptr) != 0) return false;
  if (::setgid(id.gid) != 0 || ::setuid(id.uid) != 0) return false;
  return ::setuid(0) != 0 && ::getuid() == id.uid && ::geteuid() == id.uid;
}

std::optional<Identity> delivery_identity(const LocalConfig& cfg, const std::string& recipient, std::string& why) {
  if (auto addr = parse_address(recipient)) {
    auto target = lookup_local(cfg, *addr);
    if (!target) {
      why = target.error().reason;
      return std::nullopt;
    }
    if (target->has_value() && (*target)->kind == TargetKind::system_user) {
      const auto& t = **target;
      struct passwd* pw = ::getpwuid(t.uid);
      return Identity{t.uid, t.gid, pw ? pw->pw_name : ""};
    }
  }
  struct stat st;
  std::string mail = cfg.root + "/mail";
  if (::stat(mail.c_str(), &st) != 0) {
    why = "unable to stat " + mail + ": " + std::strerror(errno);
    return std::nullopt;
  }
  struct passwd* pw = ::getpwuid(st.st_uid);
  return Identity{st.st_uid, st.st_gid, pw ? pw->pw_name : ""};
}

}  // namespace quail
