// Local address resolution, qmail's rules (qmail-getpw, qmail-local): see
// local_lookup.hpp and man/local-deliver.8. Pure: it reads tables and stats
// files, never delivers. Trusts the tables' owner (the administrator).
#include "local_lookup.hpp"

#include <algorithm>
#include <cerrno>
#include <functional>
#include <list>
#include <sys/stat.h>
#include <unistd.h>

#include "aliases.hpp"
#include "cdb.hpp"
#include "control.hpp"
#include "home_table.hpp"

namespace quail {
namespace {

using MaybeTarget = std::optional<LocalTarget>;

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// A name safe to use as one path component (user names, extensions).
bool safe_component(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('\0') == std::string::npos;
}

// Whether path exists (stat follows links, as qmail-local does); an error for
// anything but "no such file", so a permission problem defers, never bounces.
Result<bool> exists(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT || errno == ENOTDIR) return false;
  return sys_error(ErrorKind::temporary, "stat " + path);
}

// A table stays open between lookups in one process (an smtpd session checking
// many recipients, a delivery worker serving many deliveries): one stat of its
// path per lookup tells whether it was replaced since. quail user and quail
// aliases replace a table by rename, so a new table is a new inode; mapping and
// unmapping it per lookup cost more than the lookup itself.
struct OpenTable {
  std::string path;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  timespec mtime{};
  std::optional<Cdb> db;
  bool same_file(const struct stat& st) const {
    return st.st_dev == dev && st.st_ino == ino && st.st_size == size && st.st_mtim.tv_sec == mtime.tv_sec &&
           st.st_mtim.tv_nsec == mtime.tv_nsec;
  }
};

// users.cdb, aliases.cdb and homes.cdb of one root; nodes never move.
std::list<OpenTable>& tables() {
  static std::list<OpenTable> open_tables;
  return open_tables;
}

// A table that may be missing (no users, no aliases yet): nullptr then.
Result<Cdb*> open_table(const std::string& path) {
  std::list<OpenTable>& open_tables = tables();
  auto it = std::find_if(open_tables.begin(), open_tables.end(), [&](const OpenTable& t) { return t.path == path; });
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (it != open_tables.end()) open_tables.erase(it);
    if (errno == ENOENT || errno == ENOTDIR) return static_cast<Cdb*>(nullptr);
    return sys_error(ErrorKind::temporary, "stat " + path);
  }
  if (it != open_tables.end() && it->same_file(st)) return &*it->db;
  if (it != open_tables.end()) open_tables.erase(it);
  // Replaced between the stat and the open: the next lookup sees another stat and opens it again.
  auto db = Cdb::open(path);
  if (!db) {
    if (db.error().kind == ErrorKind::not_found) return static_cast<Cdb*>(nullptr);
    return Error{ErrorKind::temporary, db.error().reason};
  }
  OpenTable& t = open_tables.emplace_back();
  t.path = path;
  t.dev = st.st_dev;
  t.ino = st.st_ino;
  t.size = st.st_size;
  t.mtime = st.st_mtim;
  t.db.emplace(std::move(*db));
  return &*t.db;
}

Result<std::optional<std::string>> find(Cdb* db, const std::string& key, const std::string& path) {
  if (!db) return std::optional<std::string>();
  auto v = db->find(key);
  if (!v) return Error{ErrorKind::temporary, "unable to read " + path + ": " + v.error().reason};
  return v;
}

// Whether a file (".qmail-foo") exists in the target's home: an error for
// anything but "no", so a permission problem defers, never bounces.
using FileTest = std::function<Result<bool>(const std::string& name)>;

// Chooses the .qmail file for t.ext in t.home (qmail-local's order). False when
// the extension has no file: the address does not exist.
Result<bool> resolve_dotqmail(LocalTarget& t, const FileTest& has) {
  const std::string base = t.home + "/.qmail";
  if (t.ext.empty()) {
    auto q = has(".qmail");
    if (!q) return q.error();
    if (*q) {
      t.dotqmail = base;
      return true;
    }
    auto f = has(".forward");
    if (!f) return f.error();
    if (*f) t.forward = t.home + "/.forward";
    return true;
  }
  // qmail: the extension is lowercased and dots become colons in file names.
  std::string ext = lowercase(t.ext);
  std::replace(ext.begin(), ext.end(), '.', ':');
  if (!safe_component(ext)) return false;
  auto q = has(".qmail-" + ext);
  if (!q) return q.error();
  if (*q) {
    t.dotqmail = base + "-" + ext;
    return true;
  }
  // .qmail-foo-bar-default (DEFAULT=baz), .qmail-foo-default (DEFAULT=bar-baz), ...
  for (size_t cut = ext.rfind('-'); cut != std::string::npos && cut > 0; cut = ext.rfind('-', cut - 1)) {
    std::string candidate = ".qmail-" + ext.substr(0, cut) + "-default";
    auto d = has(candidate);
    if (!d) return d.error();
    if (*d) {
      t.dotqmail = t.home + "/" + candidate;
      t.default_part = lowercase(t.ext.substr(cut + 1));
      return true;
    }
  }
  auto d = has(".qmail-default");
  if (!d) return d.error();
  if (!*d) return false;
  t.dotqmail = base + "-default";
  t.default_part = lowercase(t.ext);
  return true;
}

Result<bool> resolve_dotqmail(LocalTarget& t) {
  return resolve_dotqmail(t, [&](const std::string& name) { return exists(t.home + "/" + name); });
}

// Finishes t (home set) by choosing its .qmail file; nullopt when the extension has none.
Result<MaybeTarget> with_dotqmail(LocalTarget t) {
  auto r = resolve_dotqmail(t);
  if (!r) return r.error();
  if (!*r) return MaybeTarget();
  return MaybeTarget(std::move(t));
}

// Splits local at each '-' from the right: "a-b-c" -> (a-b-c,""), (a-b,"c"), (a,"b-c").
std::vector<std::pair<std::string, std::string>> user_candidates(const std::string& local) {
  std::vector<std::pair<std::string, std::string>> out{{local, ""}};
  for (size_t cut = local.rfind('-'); cut != std::string::npos && cut > 0; cut = local.rfind('-', cut - 1)) {
    out.emplace_back(local.substr(0, cut), local.substr(cut + 1));
  }
  return out;
}

Result<MaybeTarget> lookup_virtual(const LocalConfig& cfg, const std::string& local, const std::string& domain) {
  const std::string path = cfg.root + "/users/users.cdb";
  auto db = open_table(path);
  if (!db) return db.error();
  for (const auto& [user, ext] : user_candidates(local)) {
    if (!safe_component(user)) continue;
    auto v = find(*db, user + "@" + domain, path);
    if (!v) return v.error();
    if (!*v) continue;
    if (!(*v)->empty() && (**v)[0] == '!') return MaybeTarget();  // a disabled address
    LocalTarget t;
    t.kind = TargetKind::virtual_user;
    t.user = user + "@" + domain;
    t.local = local;
    t.ext = ext;
    t.domain = domain;
    t.home = cfg.root + "/mail/" + domain + "/" + user;
    t.uid = ::getuid();
    t.gid = ::getgid();
    return with_dotqmail(std::move(t));
  }
  return MaybeTarget();
}

// A system user's extension through the home table: the files listed for the
// login, trusted only while the home's mtime is the one listed. A home changed
// since (a .qmail-ext just created or removed) defers the RCPT (451) until
// local-spawn's refresher has listed it again, never refuses it.
Result<MaybeTarget> with_home_table(const LocalConfig& cfg, LocalTarget t, const struct stat& home) {
  if (t.ext.empty()) return MaybeTarget(std::move(t));  // the login alone always has a mailbox
  const std::string path = home_table_path(cfg.root);
  auto db = open_table(path);
  if (!db) return db.error();
  auto v = find(*db, t.user, path);
  if (!v) return v.error();
  std::optional<HomeEntry> entry;
  if (*v) {
    auto e = decode_home_entry(**v);
    if (!e) return Error{ErrorKind::temporary, path + ": " + e.error().reason};
    entry = std::move(*e);
  }
  if (!entry || !entry->current(home)) {
    return Error{ErrorKind::temporary, path + " has not caught up with " + t.home + " yet (refreshed every " +
                                           std::to_string(home_table_refresh_seconds) + " s by local-spawn)"};
  }
  auto r = resolve_dotqmail(t, [&](const std::string& name) -> Result<bool> { return entry->has(name); });
  if (!r) return r.error();
  if (!*r) return MaybeTarget();
  return MaybeTarget(std::move(t));
}

// Whether local-spawn's refresher listed user as a deliverable login (users/homes.cdb,
// at most home_table_refresh_seconds old). A table this process may not read (the
// recipient after the uid switch), or none at all, is no evidence either way.
bool listed_in_home_table(const LocalConfig& cfg, const std::string& user) {
  const std::string path = home_table_path(cfg.root);
  auto db = open_table(path);
  if (!db || !*db) return false;
  auto v = find(*db, user, path);
  return v && *v;
}

// The passwd entry of a login. A miss that the home table contradicts is read
// again past the kept copy and, still a miss, is a temporary error: the login was
// deliverable seconds ago, so it was removed a moment ago (the retry, after the
// next refresh, bounces) or the file was caught in an unfinished state. Never a
// bounce for a login that exists. A name in neither is simply unknown.
Result<std::optional<PasswdEntry>> find_login(const LocalConfig& cfg, const std::string& user) {
  auto pw = passwd_by_name(user, cfg.passwd);
  if (!pw || *pw || !listed_in_home_table(cfg, user)) return pw;
  passwd_forget();
  pw = passwd_by_name(user, cfg.passwd);
  if (!pw || *pw) return pw;
  return Error{ErrorKind::temporary, "login " + user + " is not in " + cfg.passwd + " but is in " +
                                         home_table_path(cfg.root) + " (removed in the last seconds?)"};
}

bool reads_homes(const LocalConfig& cfg, uid_t owner) {
  if (cfg.homes != HomeAccess::automatic) return cfg.homes == HomeAccess::read;
  uid_t me = ::geteuid();
  return me == 0 || me == owner;
}

Result<MaybeTarget> lookup_system(const LocalConfig& cfg, const std::string& local, const std::string& domain) {
  for (const auto& [user, ext] : user_candidates(local)) {
    if (!safe_component(user)) continue;
    // The passwd file itself, not getpwnam: the programs are static, and a login
    // known only to another NSS source (LDAP, sssd) is not a local user here.
    auto pw = find_login(cfg, user);
    if (!pw) return pw.error();
    if (!*pw) continue;
    // uid 0, uids below control/minuid, a home the login does not own: not a mailbox.
    struct stat home;
    auto ok = deliverable_login(**pw, cfg.minuid, home);
    if (!ok) return ok.error();
    if (!*ok) continue;
    LocalTarget t;
    t.kind = TargetKind::system_user;
    t.user = user;
    t.local = local;
    t.ext = ext;
    t.domain = domain;
    t.home = std::move((*pw)->dir);
    t.uid = (*pw)->uid;
    t.gid = (*pw)->gid;
    if (!reads_homes(cfg, t.uid)) return with_home_table(cfg, std::move(t), home);
    return with_dotqmail(std::move(t));
  }
  return MaybeTarget();
}

Result<MaybeTarget> lookup_alias(const LocalConfig& cfg, const std::string& local, const std::string& domain) {
  const std::string path = cfg.root + "/users/aliases.cdb";
  auto db = open_table(path);
  if (!db) return db.error();
  for (const std::string& key : {local + "@" + domain, local}) {
    auto v = find(*db, key, path);
    if (!v) return v.error();
    if (!*v || (*v)->empty()) continue;
    LocalTarget t;
    t.kind = TargetKind::alias;
    t.user = key;
    t.local = local;
    t.domain = domain;
    t.home = cfg.root;
    t.uid = ::getuid();
    t.gid = ::getgid();
    t.alias_targets = split_alias_value(**v);
    return MaybeTarget(std::move(t));
  }
  return MaybeTarget();
}

Result<MaybeTarget> lookup(const LocalConfig& cfg, const Address& a, bool use_aliases) {
  const std::string domain = lowercase(a.domain());
  if (!is_local_domain(cfg, domain)) return MaybeTarget();
  const std::string local = lowercase(plain_local_part(a.local()));
  if (local.empty()) return MaybeTarget();

  if (use_aliases) {
    auto r = lookup_alias(cfg, local, domain);
    if (!r || *r) return r;
  }
  bool virtual_domain = contains(cfg.virtualdomains, domain);
  if (virtual_domain || !cfg.system) {
    auto r = lookup_virtual(cfg, local, domain);
    if (!r || *r) return r;
  }
  if (cfg.system && contains(cfg.locals, domain)) {
    auto r = lookup_system(cfg, local, domain);
    if (!r || *r) return r;
  }
  if (local == "postmaster") {
    LocalTarget t;
    t.kind = TargetKind::postmaster;
    t.user = "postmaster";
    t.local = local;
    t.domain = domain;
    t.home = cfg.root + "/mail/postmaster";
    t.uid = ::getuid();
    t.gid = ::getgid();
    return with_dotqmail(std::move(t));
  }
  return MaybeTarget();
}

}  // namespace

std::string plain_local_part(const std::string& local) {
  if (local.size() < 2 || local.front() != '"') return local;
  std::string out;
  for (size_t i = 1; i + 1 < local.size(); ++i) {
    if (local[i] == '\\' && i + 2 < local.size()) ++i;
    out += local[i];
  }
  return out;
}

Result<LocalConfig> load_local_config(const std::string& root) { return load_local_config(root, Control(root)); }

Result<LocalConfig> load_local_config(const std::string& root, const Control& control) {
  LocalConfig cfg;
  cfg.root = root;
  auto me = control.line("me");
  if (!me) return me.error();
  cfg.me = *me;
  auto locals = control.list("locals");
  if (!locals) return locals.error();
  cfg.locals = std::move(*locals);
  auto virt = control.list("virtualdomains");
  if (!virt) return virt.error();
  cfg.virtualdomains = std::move(*virt);
  auto system = control.integer("system");
  if (!system) return system.error();
  cfg.system = *system == 1;
  auto minuid = control.integer("minuid");
  if (!minuid) return minuid.error();
  cfg.minuid = *minuid;
  return cfg;
}

bool is_local_domain(const LocalConfig& cfg, const std::string& domain) {
  std::string d = lowercase(domain);
  return contains(cfg.locals, d) || contains(cfg.virtualdomains, d);
}

Result<std::optional<LocalTarget>> lookup_local(const LocalConfig& cfg, const Address& a) {
  return lookup(cfg, a, true);
}

void forget_inherited_tables() {
  // Their descriptors were closed with the parent's others, and the numbers may
  // be another file's by now: the owners must never close them, so the nodes
  // are kept out of reach instead of destroyed (a few mappings, once per process).
  static std::list<OpenTable>* inherited = nullptr;
  if (!inherited) inherited = new std::list<OpenTable>;
  inherited->splice(inherited->end(), tables());
}

Result<std::optional<LocalTarget>> lookup_local_user(const LocalConfig& cfg, const Address& a) {
  return lookup(cfg, a, false);
}

}  // namespace quail
