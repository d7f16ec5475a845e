// System logins read from a passwd(5) file by quail itself, not through NSS, so
// the programs that look them up (smtpd, local-deliver, sendmail) can be fully
// static: a static glibc cannot load NSS modules (man/quail.8, "System users").
// Strict: a malformed line never matches and never hides a valid one.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <unordered_map>
#include <vector>

#include "result.hpp"

namespace quail {

// The file production reads. Tests pass their own path; nothing reads a path
// from the environment, so a set-id program cannot be pointed elsewhere.
inline constexpr const char* system_passwd_path = "/etc/passwd";

struct PasswdEntry {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string gecos;
  std::string dir;    // "" or an absolute path
  std::string shell;
  bool operator==(const PasswdEntry&) const = default;
};

enum class PasswdLine {
  entry,      // name:passwd:uid:gid:gecos:dir:shell, every field well formed
  ignored,    // blank, a #comment, or a +/- NIS compat line (quail consults no NIS)
  malformed,  // anything else: never matches a lookup
};

// Classifies one line (without its LF); *out is filled for an entry.
PasswdLine parse_passwd_line(std::string_view line, PasswdEntry* out);

// A uid or gid field of passwd(5) or group(5): 1 to 10 decimal digits, below
// 2^32 - 1 ((uid_t)-1 means "none"); false for anything else.
bool parse_id(std::string_view s, uint32_t& out);

// The text of one passwd file. Lookups scan it without allocating per line;
// the first well-formed line for a name or uid wins, as in glibc's files module.
// From its second lookup on, a file answers from an index of those first lines
// (built by one scan): a process that keeps the file (local-spawn's server and
// workers, two lookups per delivery) does not parse every line of a big file
// for each uid, and one that looks up once (smtpd's RCPT) never builds it.
class PasswdFile {
 public:
  explicit PasswdFile(std::string text) : text_(std::move(text)) {}
  // Reads path (normally with one read(2)); a temporary error when it cannot
  // be read, a missing file included: no user is ever refused for our trouble.
  static Result<PasswdFile> read(const std::string& path);

  std::optional<PasswdEntry> by_name(std::string_view name) const;
  std::optional<PasswdEntry> by_uid(uid_t uid) const;
  // Every entry in file order, and the 1-based numbers of malformed lines (for
  // an administrator's check and for tests).
  std::vector<PasswdEntry> entries() const;
  std::vector<size_t> malformed_lines() const;

 private:
  struct Index {
    std::unordered_map<uint32_t, size_t> by_uid;       // uid -> offset of its first entry line
    std::unordered_map<std::string, size_t> by_name;   // login -> the same
  };
  const Index* index() const;  // null until the second lookup
  std::optional<PasswdEntry> entry_at(size_t offset) const;
  std::string text_;
  mutable std::shared_ptr<const Index> index_;
  mutable unsigned lookups_ = 0;
};

// Lookups in the file at path, kept in memory for the process and read again
// only when the file changed (its inode, size or mtime): an smtpd checking many
// RCPTs reads /etc/passwd once. nullopt: no such login. Not thread-safe.
Result<std::optional<PasswdEntry>> passwd_by_name(std::string_view name, const std::string& path = system_passwd_path);
Result<std::optional<PasswdEntry>> passwd_by_uid(uid_t uid, const std::string& path = system_passwd_path);
// Drops the kept copy: the next lookup reads the file again, whatever its stamp
// says (a second look before a miss is believed).
void passwd_forget();

}  // namespace quail
