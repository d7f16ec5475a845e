// queue-inject's code in the caller's process: see inject_local.hpp.
#include "inject_local.hpp"

#include <climits>
#include <cstdlib>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

#include "root.hpp"

namespace quail {
namespace {

LocalInjectorFactory factory_ = nullptr;

// The program built beside our own executable: a readlink of /proc/self/exe and a
// stat, where realpath(3) of both paths took a readlink per path component.
bool built_beside_us(const struct stat& candidate, const char* name) {
  char exe[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return false;
  std::string path(exe, static_cast<size_t>(n));
  path = path.substr(0, path.rfind('/') + 1) + name;
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && st.st_dev == candidate.st_dev && st.st_ino == candidate.st_ino;
}

}  // namespace

void set_local_injector(LocalInjectorFactory factory) { factory_ = factory; }

bool local_injector_allowed(const std::string& root) {
  static std::optional<bool> allowed;
  if (allowed) return *allowed;
  allowed = false;
  if (!factory_) return false;
  if (const char* qp = std::getenv("QUEUE_PROGRAM"); qp && *qp) return false;
  const std::string path = bin_dir(root) + "/queue-inject";
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  // A set-id queue-inject (a system install's, owned by quail-queue) is a
  // privilege boundary: only an exec crosses it.
  if ((st.st_mode & S_ISUID) && st.st_uid != ::geteuid()) return false;
  if ((st.st_mode & S_ISGID) && st.st_gid != ::getegid()) return false;
  // Another program in its place (an older build, a wrapper) is run as it is.
  allowed = built_beside_us(st, "queue-inject");
  return *allowed;
}

std::unique_ptr<LocalInjector> make_local_injector(const std::string& root, const Control& control) {
  return factory_(root, control);
}

}  // namespace quail
