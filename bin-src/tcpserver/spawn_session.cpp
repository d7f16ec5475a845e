// A session's start. glibc's posix_spawn child walks all 64 signals, reading and
// resetting each disposition (~117 rt_sigaction calls per connection), because a
// handler of the parent must never run in a child that shares its memory. tcpserver
// installs no handler (its signals arrive through a signalfd; SIGPIPE and SIGXFSZ
// are ignored, not handled), so its child resets only the dispositions lib/spawn's
// children get at their defaults, with every signal blocked until just before the
// exec. What it bought: bench/README.md, "Control reads and the spawn".
#include "spawn_session.hpp"

#include <cerrno>
#include <csignal>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

namespace quail::tcpserver {
namespace {

struct ChildArgs {
  const char* path;
  char* const* argv;
  char* const* envp;
  int conn;
  int error;  // the child's errno when it fails: written into the parent's memory (CLONE_VM)
};

// Runs in the child, on its own stack, while the parent waits for the exec
// (CLONE_VFORK): system calls only, no allocation, no lock. Not instrumented by
// AddressSanitizer (make e2e-asan), whose frames would live in the parent's state.
__attribute__((no_sanitize("address"))) int child_main(void* p) {
  auto* a = static_cast<ChildArgs*>(p);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s : {SIGPIPE, SIGXFSZ, SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGALRM}) ::sigaction(s, &dfl, nullptr);
  if (::dup2(a->conn, 0) < 0 || ::dup2(a->conn, 1) < 0) {
    a->error = errno;
    ::_exit(127);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(a->path, a->argv, a->envp);
  a->error = errno;
  ::_exit(127);
}

}  // namespace

Result<pid_t> spawn_session(const std::vector<std::string>& argv, const std::vector<std::string>& env, int conn) {
  if (argv.empty() || conn <= 2) return Error{ErrorKind::permanent, "spawn: no program, or the connection on fd 0-2"};
  std::vector<char*> args;
  for (const auto& s : argv) args.push_back(const_cast<char*>(s.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& s : env) envp.push_back(const_cast<char*>(s.c_str()));
  envp.push_back(nullptr);
  ChildArgs a{argv[0].c_str(), args.data(), envp.data(), conn, 0};
  // One stack does for every child: tcpserver has one thread, and it is suspended
  // until the child has exec'd or exited. A few of its pages are ever touched.
  alignas(16) static char stack[64 * 1024];
  sigset_t all, old;
  sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, &old);
  pid_t pid = ::clone(child_main, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
  int err = errno;
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) return sys_error(ErrorKind::temporary, "spawn " + argv[0], err);
  if (a.error != 0) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return sys_error(ErrorKind::temporary, "spawn " + argv[0], a.error);
  }
  return pid;
}

}  // namespace quail::tcpserver
