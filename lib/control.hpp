// Control files: ROOT/control/<name>, one value (or one per line) per file.
// One registry lists every file; a read is found, missing (the documented default)
// or an error naming the file and line. Spec: control/README.md, man/quail-control.5.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "result.hpp"

namespace quail {

enum class ControlKind {
  line,     // one value on the first line (me, bouncefrom)
  integer,  // one decimal integer, range-checked
  list,     // one value per line, # comments and blank lines ignored
  domains,  // a list whose values are domain names (lowercased); ".example" allowed where wildcard
  directory,  // a directory of files its program reads itself (tls/: PEM files); not parsed here
};

// One value of a list file and the line it is on (for errors a later parser names).
struct ControlLine {
  int line = 0;
  std::string value;
};

struct ControlSpec {
  std::string_view name;
  ControlKind kind;
  std::string_view fallback;  // the default, as text ("" for an empty list); "=me" means control/me's value
  int64_t min = 0;
  int64_t max = 0;
  std::string_view used_by;
  std::string_view meaning;
  // Holds secrets (passwords): never copied into the world-readable snapshot of
  // run/control.good, so a malformed file is an error, never the last good copy.
  bool secret = false;
};

// Every control file quail reads.
const std::vector<ControlSpec>& control_registry();
const ControlSpec* control_spec(std::string_view name);

class Control {
 public:
  // Every read opens ROOT/control/<name> by its path, so it sees the file as it is now.
  explicit Control(std::string root) : dir_(std::move(root) + "/control") {}
  // For a program that takes its settings once, at its start (smtpd, a process per
  // connection): at its first read it opens and lists ROOT/control once; a file
  // absent from that listing gets its default without a system call, a present one
  // is opened relative to the directory (one path component), and each file is read
  // once, later reads of it (and of "=me" defaults) getting the same text. So this
  // object and its copies answer as of their first read: a long-lived program must
  // not keep one across a reload. Errors and defaults are those of Control(root).
  static Control read_once(std::string root);
  const std::string& dir() const { return dir_; }

  // The first line of a line file, or its default. config error if malformed.
  Result<std::string> line(std::string_view name) const;
  // A strict, range-checked integer, or its default.
  Result<int64_t> integer(std::string_view name) const;
  // A list (or domains) file's values, or its default.
  Result<std::vector<std::string>> list(std::string_view name) const;
  // The same values with their line numbers, for files whose lines have a syntax of
  // their own (smtproutes, tlspolicy): the caller's errors then name the line.
  Result<std::vector<ControlLine>> lines(std::string_view name) const;
  // Reads every registered file that exists; the first error found, naming file and line.
  // Strict: never falls back to the last good configuration.
  Status validate_all() const;
  // The same for one registered file.
  Status validate(std::string_view name) const;

 private:
  // A malformed file's value from ROOT/run/control.good, logged as refused; the
  // original error when there is no snapshot.
  template <typename T, typename Parse>
  Result<T> last_good(std::string_view name, const Error& refused, Parse parse) const;
  bool strict_ = false;
  // The file's contents; not_found when missing.
  Result<std::string> raw(std::string_view name) const;
  std::string dir_;
  struct Once;  // read_once's directory, listing and texts read, shared by copies
  std::shared_ptr<Once> once_;
};

// The last good configuration (man/quail-control.5, "LAST GOOD CONFIGURATION"):
// quail up and quail reload, once every file validates, copy the registered
// control files into ROOT/run/control.good. A reader that then finds a file
// malformed (a bad edit since) logs event=control_refused and uses the file's
// value from the snapshot, so the running services keep serving.
std::string control_snapshot_path(const std::string& root);
// Validates every file (strictly), then writes the snapshot durably.
Status write_control_snapshot(const std::string& root);
// The snapshot format: "quail-control-good 1\n", then per file present
// "<name> <length>\n<bytes>". name -> contents; a file absent at the time is
// absent here (its default applied). format error when malformed.
Result<std::vector<std::pair<std::string, std::string>>> parse_control_snapshot(std::string_view text);

// Parsers, exposed for unit tests and fuzzing. `file` is used in error messages.
Result<int64_t> parse_control_integer(std::string_view text, const std::string& file, int64_t min, int64_t max);
Result<std::vector<ControlLine>> parse_control_lines(std::string_view text, const std::string& file, bool domains);
Result<std::vector<std::string>> parse_control_list(std::string_view text, const std::string& file, bool domains);
Result<std::string> parse_control_line(std::string_view text, const std::string& file);

}  // namespace quail
