// Root resolution: see root.hpp.
#include "root.hpp"

#include <cstdlib>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

namespace quail {

std::string resolve_root(const char* flag) {
  if (flag && *flag) return flag;
  bool setid = getuid() != geteuid() || getgid() != getegid();
  if (!setid) {
    const char* env = std::getenv("QUAIL_ROOT");
    if (env && *env) return env;
  }
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
