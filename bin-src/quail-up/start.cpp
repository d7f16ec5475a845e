// Starting one service detached, with the readiness handshake of $QUAIL_READY_FD:
// the service writes "\n" on that fd once it accepts work. See man/quail.8 ("SERVICES").
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.hpp"
#include "fd.hpp"
#include "service.hpp"
#include "up.hpp"

extern char** environ;

namespace quail::up {
namespace {

// The caller's environment with the root, the service's name and the readiness fd set.
std::vector<std::string> service_env(const StartSpec& spec, int ready_fd) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view v = *e;
    if (v.starts_with("QUAIL_ROOT=") || v.starts_with("QUAIL_READY_FD=") || v.starts_with("QUAIL_SERVICE=")) continue;
    env.emplace_back(v);
  }
  env.push_back("QUAIL_ROOT=" + spec.root);
  env.push_back("QUAIL_SERVICE=" + spec.service);
  env.push_back("QUAIL_READY_FD=" + std::to_string(ready_fd));
  return env;
}

// Runs in the child between fork and exec: only async-signal-safe calls.
[[noreturn]] void exec_child(const StartSpec& spec, char* const* argv, char* const* envp, int in, int log, int ready) {
  ::setsid();  // its own session: no terminal, no signals from the administrator's shell
  ::dup2(in, 0);
  ::dup2(log, 1);
  ::dup2(log, 2);
  ::fcntl(ready, F_SETFD, 0);  // the one fd the service inherits beyond 0-2
  for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::chdir(spec.root.c_str()) != 0) _exit(111);
  ::execve(argv[0], argv, envp);
  const char* msg = "quail up: unable to exec the service's program\n";
  (void)!::write(2, msg, std::strlen(msg));
  _exit(111);
}

// The last line this start wrote to the service's log (past offset), to show why it did not start.
std::string last_log_line(const std::string& path, off_t offset) {
  auto text = read_file(path, 1 << 24);
  if (!text || static_cast<size_t>(offset) >= text->size()) return "";
  std::string_view s = *text;
  s.remove_prefix(static_cast<size_t>(offset));
  while (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  size_t nl = s.rfind('\n');
  if (nl != std::string_view::npos) s.remove_prefix(nl + 1);
  return std::string(s.substr(0, 300));
}

// Reaps our child if it has exited within ms; the way it ended, or "" when it runs on.
std::string reap(pid_t pid, int ms) {
  for (int64_t end = monotonic_ms() + ms;;) {
    int w;
    pid_t r = ::waitpid(pid, &w, WNOHANG);
    if (r == pid) {
      if (WIFSIGNALED(w)) return "was killed by signal " + std::to_string(WTERMSIG(w));
      return "exited with code " + std::to_string(WEXITSTATUS(w));
    }
    if (r < 0 || monotonic_ms() >= end) return "";
    ::usleep(10000);
  }
}

// Waits for "\n" on fd until the deadline: ok, or why not.
Status wait_ready(int fd, pid_t pid, int timeout_ms) {
  int64_t deadline = monotonic_ms() + timeout_ms;
  for (;;) {
    int64_t left = deadline - monotonic_ms();
    if (left <= 0) return Error{ErrorKind::temporary, "not ready after " + std::to_string(timeout_ms / 1000) + " s"};
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno != EINTR) return sys_error(ErrorKind::temporary, "wait for readiness");
    if (n <= 0) continue;
    char buf[64];
    ssize_t got = ::read(fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got > 0) {
      if (std::memchr(buf, '\n', static_cast<size_t>(got))) return {};
      continue;
    }
    std::string how = reap(pid, 1000);
    return Error{ErrorKind::temporary, how.empty() ? "closed $QUAIL_READY_FD without signalling readiness"
                                                   : how + " before it was ready"};
  }
}

}  // namespace

Result<pid_t> start_service(const StartSpec& spec, int timeout_ms) {
  std::string log_path = service_log_file(spec.root, spec.service);
  std::string pid_path = spec.pid_file.empty() ? service_pid_file(spec.root, spec.service) : spec.pid_file;
  auto log = open_fd(log_path, O_WRONLY | O_CREAT | O_APPEND, 0640);
  if (!log) return log.error();
  off_t log_start = ::lseek(log->get(), 0, SEEK_END);
  auto in = open_fd("/dev/null", O_RDONLY);
  if (!in) return in.error();
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return sys_error(ErrorKind::temporary, "create a pipe");
  Fd ready_r(p[0]), ready_w(p[1]);

  // Everything the child needs is built before fork: it only calls async-signal-safe functions.
  std::vector<std::string> env = service_env(spec, ready_w.get());
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) return sys_error(ErrorKind::temporary, "fork");
  if (pid == 0) exec_child(spec, argv.data(), envp.data(), in->get(), log->get(), ready_w.get());
  ready_w.reset();  // EOF on ready_r now means the service is gone

  Status s = write_pid_file(pid_path, pid);
  if (s) s = wait_ready(ready_r.get(), pid, timeout_ms);
  if (s) return pid;

  (void)stop_process(pid, 2000);
  reap(pid, 1000);
  (void)remove_pid_file(pid_path);
  std::string why = spec.service + " did not start: " + s.error().reason;
  std::string last = last_log_line(log_path, log_start < 0 ? 0 : log_start);
  if (!last.empty()) why += "; last line of " + log_path + ": " + last;
  return Error{ErrorKind::temporary, why};
}

}  // namespace quail::up
