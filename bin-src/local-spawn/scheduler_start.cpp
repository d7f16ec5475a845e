// The scheduler's start: see scheduler_start.hpp. Between fork and exec only
// async-signal-safe calls, apart from become()'s reads of /etc/passwd and /etc/group
// (local-spawn has one thread, so no lock can be held across the fork).
#include "scheduler_start.hpp"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <fcntl.h>
#include <string>
#include <string_view>
#include <unistd.h>

namespace quail {
namespace {

int ready_fd() {
  const char* v = std::getenv("QUAIL_READY_FD");
  if (!v) return -1;
  std::string_view s(v);
  int fd = -1;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), fd);
  return ec == std::errc() && p == s.data() + s.size() && fd > 2 ? fd : -1;
}

// sock on fd 3, inheritable; the readiness fd moved out of the way first if it is 3.
bool onto_fd3(int sock) {
  if (ready_fd() == 3 && sock != 3) {
    int moved = ::fcntl(3, F_DUPFD, 4);
    if (moved < 0) return false;
    std::string v = std::to_string(moved);
    ::setenv("QUAIL_READY_FD", v.c_str(), 1);
  }
  if (sock == 3) return ::fcntl(3, F_SETFD, 0) == 0;  // dup2(3, 3) would keep close-on-exec
  return ::dup2(sock, 3) == 3;
}

}  // namespace

Result<pid_t> start_scheduler(const Identity& user, int sock, char** argv) {
  pid_t pid = ::fork();
  if (pid < 0) return sys_error(ErrorKind::temporary, "fork the scheduler");
  if (pid != 0) return pid;
  if (!onto_fd3(sock) || !become(user)) _exit(111);
  ::setenv("QUAIL_LSPAWN_FD", "3", 1);
  ::execv(argv[0], argv);
  _exit(111);
}

Error exec_scheduler(int sock, char** argv) {
  if (!onto_fd3(sock)) return sys_error(ErrorKind::temporary, "put the spawner socket on fd 3");
  ::setenv("QUAIL_LSPAWN_FD", "3", 1);
  ::execv(argv[0], argv);
  return sys_error(ErrorKind::temporary, std::string("exec ") + argv[0]);
}

void drop_ready_fd() {
  if (int fd = ready_fd(); fd >= 0) ::close(fd);
}

}  // namespace quail
