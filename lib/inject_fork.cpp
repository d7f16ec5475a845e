// queue-inject's code in a forked child: see inject_fork.hpp.
#include "inject_fork.hpp"

#include <climits>
#include <csignal>
#include <cstdlib>
#include <optional>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "queue_exit.hpp"
#include "root.hpp"

namespace quail {
namespace {

InjectorEntry entry_ = nullptr;

std::string directory_of(const char* path) {
  char buf[PATH_MAX];
  if (!::realpath(path, buf)) return "";
  std::string s(buf);
  return s.substr(0, s.rfind('/'));
}

}  // namespace

void set_injector_entry(InjectorEntry entry) { entry_ = entry; }

bool injector_fork_allowed(const std::string& root) {
  static std::optional<bool> allowed;
  if (allowed) return *allowed;
  allowed = false;
  if (!entry_) return false;
  if (const char* qp = std::getenv("QUEUE_PROGRAM"); qp && *qp) return false;
  const std::string path = bin_dir(root) + "/queue-inject";
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  // A set-id queue-inject (a system install's, owned by quail-queue) is a
  // privilege boundary: only an exec crosses it.
  if ((st.st_mode & S_ISUID) && st.st_uid != ::geteuid()) return false;
  if ((st.st_mode & S_ISGID) && st.st_gid != ::getegid()) return false;
  // Another program in its place (an older build, a wrapper) is run as it is.
  const std::string ours = directory_of("/proc/self/exe");
  allowed = !ours.empty() && ours == directory_of(path.c_str());
  return *allowed;
}

Result<pid_t> fork_injector(const std::string& root, int in_fd, int out_fd) {
  pid_t pid = ::fork();
  if (pid < 0) return sys_error(ErrorKind::temporary, "fork queue-inject");
  if (pid > 0) return pid;
  // The child: what an exec would have given it, then queue-inject's session.
  // Without an exec, O_CLOEXEC closes nothing: the client's socket and our other
  // descriptors go here.
  if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0) ::_exit(qq::internal_bug);
  if (::syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
    for (int fd = 3; fd < 1024; ++fd) ::close(fd);
  }
  // An exec would put caught signals back to their default and keep ignored
  // ones (SIGPIPE): the few a quail program catches, not all 64 (a system call each).
  for (int sig : {SIGALRM, SIGCHLD, SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2}) std::signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // ps, top and pgrep show it by its job (its command line stays smtpd's).
  ::prctl(PR_SET_NAME, "queue-inject", 0, 0, 0);
  ::_exit(entry_(root));
}

}  // namespace quail
