// Root resolution: see root.hpp.
#include "root.hpp"

#include <cstdlib>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

namespace quail {

namespace {
// The root a set-id copy of a program belongs to: it is installed as
// ROOT/bin/<program> (a copy, never a link), so ROOT is its grandparent. The
// kernel, not the caller, names the executable; a hard link elsewhere is refused
// by fs.protected_hardlinks, and would only point the program at the caller's own files.
std::string root_of_executable() {
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return default_root;
  std::string p(self, static_cast<size_t>(n));
  auto bin = p.rfind('/');
  if (bin == std::string::npos || bin == 0) return default_root;
  auto root = p.rfind('/', bin - 1);
  if (root == std::string::npos || p.compare(root + 1, bin - root - 1, "bin") != 0) return default_root;
  return root == 0 ? "/" : p.substr(0, root);
}
}  // namespace

std::string resolve_root(const char* flag) {
  bool setid = getuid() != geteuid() || getgid() != getegid();
  // A set-id program serves the installation it belongs to, whatever its caller
  // says: neither a flag nor the environment may point it elsewhere.
  if (setid) return root_of_executable();
  if (flag && *flag) return flag;
  const char* env = std::getenv("QUAIL_ROOT");
  if (env && *env) return env;
  return default_root;
}

std::string bin_dir(const std::string& root) {
  std::string b = root + "/bin";
  struct stat st;
  if (::stat((b + "/queue-inject").c_str(), &st) == 0) return b;
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string p(self, static_cast<size_t>(n));
    return p.substr(0, p.rfind('/'));
  }
  return b;
}

}  // namespace quail
