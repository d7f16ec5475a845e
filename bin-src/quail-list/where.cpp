// Finding a list's home and becoming its owner: see where.hpp.
#include "where.hpp"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "address.hpp"
#include "local_lookup.hpp"

namespace quail::lists {
namespace {

Error no(const std::string& why) { return Error{ErrorKind::permanent, why}; }

// A list name: lowercase letters, digits, '_' and inner '-'; no '.', which
// .qmail file names would turn into ':'.
bool valid_name(const std::string& ext) {
  if (ext.empty() || ext.size() > 30 || ext.front() == '-' || ext.back() == '-') return false;
  for (char c : ext) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return ext != "default";
}

}  // namespace

Result<ListPlace> find_list_place(const std::string& root, const std::string& address) {
  auto a = parse_address(address, false);
  if (!a || a->quoted()) return no(address + " is not a plain local@domain address");
  auto cfg = load_local_config(root);
  if (!cfg) return cfg.error();
  std::string local = lowercase(a->local());
  std::string domain = lowercase(a->domain());
  if (!is_local_domain(*cfg, domain)) return no(domain + " is not a domain this host delivers");
  // The longest user first, as local delivery splits it.
  for (size_t cut = local.rfind('-'); cut != std::string::npos && cut > 0; cut = local.rfind('-', cut - 1)) {
    auto user = parse_address(local.substr(0, cut) + "@" + domain, false);
    if (!user) continue;
    auto t = lookup_local_user(*cfg, *user);
    if (!t) return t.error();
    if (!*t || !(*t)->ext.empty()) continue;
    if ((*t)->kind != TargetKind::virtual_user && (*t)->kind != TargetKind::system_user) continue;
    ListPlace p;
    p.address = local + "@" + domain;
    p.user = local.substr(0, cut);
    p.ext = local.substr(cut + 1);
    p.domain = domain;
    p.home = (*t)->home;
    if (!valid_name(p.ext)) {
      return no("list name " + p.ext + " is not allowed: use a-z, 0-9, _ and inner -, at most 30");
    }
    p.dir = p.home + "/lists/" + p.ext;
    struct stat st;
    if (::stat(p.home.c_str(), &st) != 0) return sys_error(ErrorKind::temporary, "stat " + p.home);
    p.uid = st.st_uid;
    p.gid = st.st_gid;
    return p;
  }
  return no(address + " is not an extension of a local user (user-list@domain)");
}

Status become_owner(const ListPlace& p) {
  if (::geteuid() == p.uid) return {};
  if (::geteuid() != 0) {
    return no(p.home + " belongs to uid " + std::to_string(p.uid) + ": run as that user or as root");
  }
  if (p.uid == 0) return no("refusing to run a list in a home owned by root");
  if (::setgroups(0, nullptr) != 0 || ::setgid(p.gid) != 0 || ::setuid(p.uid) != 0) {
    return sys_error(ErrorKind::temporary, "switch to uid " + std::to_string(p.uid));
  }
  return {};
}

}  // namespace quail::lists
