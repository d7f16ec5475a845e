// The home table ROOT/users/homes.cdb: which system logins may receive mail and
// which .qmail-<ext> files each home holds, compiled by root so that smtpd
// (quail-smtpd) can validate user-ext@ at RCPT time without reading homes it may
// not enter (0700, 0750). qmail's answer is qmail-newu; ours is refreshed by
// local-spawn within seconds. Spec: man/quail.8, SYSTEM USERS. Trusts root's
// /etc/passwd for content; reads only the names in a home, never a file.
#pragma once
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <sys/types.h>
#include <vector>

#include "passwd_file.hpp"
#include "result.hpp"

namespace quail {

// The smallest uid of a login that receives mail (control/minuid's default, Debian's first user).
inline constexpr int64_t default_minuid = 1000;
// How often local-spawn looks for changed homes and refreshes the table.
inline constexpr int home_table_refresh_seconds = 5;
// A home changed less than this before it was listed is recorded as unknown:
// a change within the same timestamp tick after the listing would go unseen.
inline constexpr int home_table_settle_seconds = 2;
// A login missing from a passwd file replaced less than this ago stays in the
// table (its mail is deferred, never refused): the file may be caught between
// two edits, or restored by whoever took the login out. Removed for good, the
// login leaves the table at the first refresh after the file has been this quiet.
inline constexpr int passwd_settle_seconds = 10;

std::string home_table_path(const std::string& root);

// One login's record: its home's modification time when listed (0.0: unknown,
// never matches) and the names of the .qmail-<ext> files in it, sorted.
struct HomeEntry {
  int64_t mtime_sec = 0;
  int64_t mtime_nsec = 0;
  std::vector<std::string> files;
  bool operator==(const HomeEntry&) const = default;
  // Whether the home, as stat(2) sees it now, is the one listed here.
  bool current(const struct stat& home) const {
    return (mtime_sec != 0 || mtime_nsec != 0) && home.st_mtim.tv_sec == mtime_sec && home.st_mtim.tv_nsec == mtime_nsec;
  }
  bool has(std::string_view name) const;
};

// Value encoding: "<sec>.<nsec>" then "\n<name>" per file. decode is strict:
// format error for anything encode would not write.
std::string encode_home_entry(const HomeEntry& e);
Result<HomeEntry> decode_home_entry(std::string_view value);

// Whether pw may receive mail: uid not 0 and at least minuid, home an absolute
// directory owned by pw's uid. home: the stat of pw.dir when found. false for a
// login that is not deliverable (or whose home does not exist); a temporary
// error when the home cannot be examined (EACCES on a parent, EIO): never a
// bounce for our trouble.
Result<bool> deliverable_login(const PasswdEntry& pw, int64_t minuid, struct stat& home);

// Lists one home (names starting ".qmail-"); entry.mtime from home, or 0.0
// when it changed less than home_table_settle_seconds before now.
Result<HomeEntry> list_home(const std::string& dir, const struct stat& home, time_t now);

// What a refresh did, for the log.
struct HomeTableUpdate {
  size_t logins = 0;    // deliverable logins in the table
  size_t listed = 0;    // homes listed again (new or changed)
  size_t unsettled = 0; // of those, changed too recently to be trusted (recorded as unknown)
  size_t kept = 0;      // logins gone from a passwd file that has not settled, kept (passwd_settle_seconds)
  bool written = false; // the table was rewritten
};

// Brings ROOT/users/homes.cdb up to date with passwd_path: every deliverable
// login, each home listed again only when its mtime differs from the table's (or
// was unknown); rewritten (atomically, 0640, group of ROOT/users) only when
// something changed, holding users/.homes.lock. A login the table held that the
// file no longer names is kept while the file is younger than passwd_settle_seconds. A home that cannot be listed is
// left out (its extensions get 451 at RCPT time until it can be). Needs root to
// enter private homes.
Result<HomeTableUpdate> refresh_home_table(const std::string& root, int64_t minuid,
                                           const std::string& passwd_path = system_passwd_path);

}  // namespace quail
