// Starting supervise's child and recording it: see supervise.hpp.
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <poll.h>
#include <string_view>
#include <unistd.h>

#include "clock.hpp"
#include "durable.hpp"
#include "service.hpp"
#include "supervise.hpp"

extern char** environ;

namespace quail::supervise {
namespace {

constexpr int listen_fd = 3;       // SD_LISTEN_FDS_START: tcpserver's socket activation
constexpr int ready_child_fd = 4;  // the child's $QUAIL_READY_FD

bool ours(std::string_view v) {
  return v.starts_with("LISTEN_PID=") || v.starts_with("LISTEN_FDS=") || v.starts_with("QUAIL_READY_FD=");
}

}  // namespace

Result<pid_t> start_child(const std::vector<std::string>& argv, int socket_fd, int ready_fd) {
  // Built before fork: LISTEN_PID is patched in the child, which alone knows its pid.
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    if (!ours(*e)) env.emplace_back(*e);
  }
  if (ready_fd >= 0) env.push_back("QUAIL_READY_FD=" + std::to_string(ready_child_fd));
  size_t pid_slot = env.size();
  if (socket_fd >= 0) {
    env.push_back("LISTEN_FDS=1");
    env.push_back("LISTEN_PID=" + std::string(20, ' '));
  }
  std::vector<char*> cargv, envp;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) return sys_error(ErrorKind::temporary, "fork");
  if (pid > 0) return pid;

  // The child: async-signal-safe calls only. Both fds are first lifted above
  // the two slots, so neither dup2 can overwrite the other.
  int ready = ready_fd >= 0 ? ::fcntl(ready_fd, F_DUPFD_CLOEXEC, 10) : -1;
  int sock = socket_fd >= 0 ? ::fcntl(socket_fd, F_DUPFD_CLOEXEC, 10) : -1;
  if (sock >= 0) {
    ::dup2(sock, listen_fd);  // dup2 leaves the new fd open across exec
    char* slot = envp[pid_slot + 1] + std::strlen("LISTEN_PID=");
    char digits[20];
    int n = 0;
    for (pid_t me = ::getpid(); me > 0 && n < 20; me /= 10) digits[n++] = static_cast<char>('0' + me % 10);
    for (int i = 0; i < n; ++i) slot[i] = digits[n - 1 - i];
    slot[n] = '\0';
  }
  if (ready >= 0) ::dup2(ready, ready_child_fd);
  for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(cargv[0], cargv.data(), envp.data());
  const char* msg = "prog=supervise level=error event=fatal reason=\"unable to exec the service's program\"\n";
  (void)!::write(2, msg, std::strlen(msg));
  _exit(111);
}

Readiness wait_ready(int fd, int timeout_ms) {
  for (int64_t deadline = monotonic_ms() + timeout_ms;;) {
    int64_t left = deadline - monotonic_ms();
    if (left <= 0) return Readiness::waiting;
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno != EINTR) return Readiness::closed;
    if (n <= 0) continue;
    char buf[64];
    ssize_t got = ::read(fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return Readiness::closed;
    if (std::memchr(buf, '\n', static_cast<size_t>(got))) return Readiness::ready;
  }
}

Status write_state(const std::string& root, const std::string& service, pid_t child, long since, long restarts) {
  // While a restart is pending no pid names the service: quail status says "restarting".
  auto s = child > 0 ? write_pid_file(service_pid_file(root, service), child) : remove_pid_file(service_pid_file(root, service));
  if (!s) return s;
  std::string text = std::to_string(child) + " " + std::to_string(since) + " " + std::to_string(restarts) + "\n";
  return write_file_durable(service_state_file(root, service), text, 0644);
}

void clear_state(const std::string& root, const std::string& service) {
  (void)remove_pid_file(service_state_file(root, service));
  (void)remove_pid_file(service_pid_file(root, service));
}

}  // namespace quail::supervise
