// The home table: see home_table.hpp and man/quail.8, SYSTEM USERS. Written
// only by root (quail up, quail homes, local-spawn's refresher); read by anyone
// who may not enter homes (smtpd) through local_lookup.
#include "home_table.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <dirent.h>
#include <map>
#include <set>
#include <unistd.h>

#include "cdb.hpp"
#include "service_lock.hpp"

namespace quail {
namespace {

constexpr std::string_view dotqmail_prefix = ".qmail-";

// A strict decimal number of 1 to 18 digits, no sign, no leading zero (one
// spelling per number, as encode writes it); false otherwise.
bool parse_decimal(std::string_view s, int64_t& out) {
  if (s.empty() || s.size() > 18 || (s.size() > 1 && s[0] == '0')) return false;
  if (s.find_first_not_of("0123456789") != std::string_view::npos) return false;  // from_chars takes "-0"
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool valid_file_name(std::string_view n) {
  return n.size() > dotqmail_prefix.size() && n.substr(0, dotqmail_prefix.size()) == dotqmail_prefix &&
         n.find('/') == std::string_view::npos && n.find('\n') == std::string_view::npos &&
         n.find('\0') == std::string_view::npos;
}

Error bad_entry(const std::string& why) { return Error{ErrorKind::format, "malformed home table entry: " + why}; }

}  // namespace

std::string home_table_path(const std::string& root) { return root + "/users/homes.cdb"; }

bool HomeEntry::has(std::string_view name) const { return std::binary_search(files.begin(), files.end(), name); }

std::string encode_home_entry(const HomeEntry& e) {
  std::string out = std::to_string(e.mtime_sec) + "." + std::to_string(e.mtime_nsec);
  for (const auto& f : e.files) out += "\n" + f;
  return out;
}

Result<HomeEntry> decode_home_entry(std::string_view value) {
  HomeEntry e;
  size_t lf = value.find('\n');
  std::string_view stamp = value.substr(0, lf);
  size_t dot = stamp.find('.');
  if (dot == std::string_view::npos) return bad_entry("no modification time");
  if (!parse_decimal(stamp.substr(0, dot), e.mtime_sec) || !parse_decimal(stamp.substr(dot + 1), e.mtime_nsec) ||
      e.mtime_nsec > 999999999) {
    return bad_entry("bad modification time");
  }
  while (lf != std::string_view::npos) {
    value.remove_prefix(lf + 1);
    lf = value.find('\n');
    std::string_view name = value.substr(0, lf);
    if (!valid_file_name(name)) return bad_entry("bad file name");
    if (!e.files.empty() && !(e.files.back() < name)) return bad_entry("file names out of order");
    e.files.emplace_back(name);
  }
  return e;
}

Result<bool> deliverable_login(const PasswdEntry& pw, int64_t minuid, struct stat& home) {
  // root never receives mail itself (qmail's rule); system accounts (bin, daemon,
  // the quail service users) sit below minuid.
  if (pw.uid == 0 || static_cast<int64_t>(pw.uid) < minuid || pw.dir.empty()) return false;
  if (::stat(pw.dir.c_str(), &home) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return false;
    return sys_error(ErrorKind::temporary, "stat " + pw.dir);
  }
  // qmail-getpw's rule: a login receives mail only in a home it owns, so a
  // delivery as that uid can write there.
  return S_ISDIR(home.st_mode) && home.st_uid == pw.uid;
}

Result<HomeEntry> list_home(const std::string& dir, const struct stat& home, time_t now) {
  HomeEntry e;
  if (home.st_mtim.tv_sec + home_table_settle_seconds <= now) {
    e.mtime_sec = home.st_mtim.tv_sec;
    e.mtime_nsec = home.st_mtim.tv_nsec;
  }
  DIR* d = ::opendir(dir.c_str());
  if (!d) return sys_error(ErrorKind::temporary, "open " + dir);
  errno = 0;
  while (dirent* de = ::readdir(d)) {
    std::string_view name(de->d_name);
    if (valid_file_name(name)) e.files.emplace_back(name);
    errno = 0;
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return sys_error(ErrorKind::temporary, "read " + dir, err);
  std::sort(e.files.begin(), e.files.end());
  return e;
}

Result<HomeTableUpdate> refresh_home_table(const std::string& root, int64_t minuid, const std::string& passwd_path) {
  const std::string path = home_table_path(root);
  // quail homes, quail up and local-spawn's refresher may run at once: one
  // writer at a time, or two builds would share path.tmp.
  auto lock = FileLock::acquire(root + "/users/.homes.lock");
  if (!lock) return lock.error();
  std::map<std::string, std::string> old;
  if (auto db = Cdb::open(path); db) {
    auto all = db->all();
    if (!all) return Error{ErrorKind::temporary, path + ": " + all.error().reason};
    for (auto& [k, v] : *all) old.emplace(std::move(k), std::move(v));
  } else if (db.error().kind != ErrorKind::not_found) {
    old.clear();  // a damaged table is rebuilt whole
  }
  // The file's age before its text: a file replaced in between only looks younger.
  struct stat pst;
  if (::stat(passwd_path.c_str(), &pst) != 0) return sys_error(ErrorKind::temporary, "stat " + passwd_path);
  auto passwd = PasswdFile::read(passwd_path);
  if (!passwd) return passwd.error();
  HomeTableUpdate u;
  std::map<std::string, std::string> fresh;
  std::set<std::string> seen;
  time_t now = ::time(nullptr);
  // Its modification time: useradd and friends write the new file just before
  // they rename it into place, and an edit in place sets it too.
  const bool settled = pst.st_mtim.tv_sec + passwd_settle_seconds <= now;
  for (const PasswdEntry& pw : passwd->entries()) {
    if (!seen.insert(pw.name).second) continue;  // the first line for a name wins, as in lookups
    struct stat home;
    auto ok = deliverable_login(pw, minuid, home);
    if (!ok || !*ok) continue;
    if (auto it = old.find(pw.name); it != old.end()) {
      auto prev = decode_home_entry(it->second);
      if (prev && prev->current(home)) {
        fresh.emplace(pw.name, it->second);
        continue;
      }
    }
    auto listed = list_home(pw.dir, home, now);
    if (!listed) continue;
    ++u.listed;
    if (listed->mtime_sec == 0 && listed->mtime_nsec == 0) ++u.unsettled;
    fresh.emplace(pw.name, encode_home_entry(*listed));
  }
  // Gone from an unsettled file: kept, so a lookup defers instead of refusing
  // (local_lookup's find_login). A login still named but no longer deliverable is dropped.
  if (!settled) {
    for (const auto& [name, value] : old) {
      if (seen.count(name) == 0 && fresh.emplace(name, value).second) ++u.kept;
    }
  }
  u.logins = fresh.size();
  if (fresh == old) return u;
  std::vector<std::pair<std::string, std::string>> records(fresh.begin(), fresh.end());
  if (auto s = build_cdb(path, records, 0640); !s) return s.error();
  // smtpd reads it through the group of ROOT/users (quail in a system install).
  struct stat users;
  if (::geteuid() == 0 && ::stat((root + "/users").c_str(), &users) == 0) {
    if (::chown(path.c_str(), 0, users.st_gid) != 0) return sys_error(ErrorKind::temporary, "chown " + path);
  }
  u.written = true;
  return u;
}

}  // namespace quail
