// A resident helper's accept-and-fork loop: see resident_server.hpp.
#include "resident_server.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <malloc.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd_passing.hpp"
#include "log.hpp"
#include "process_ids.hpp"
#include "service.hpp"
#include "unix_connect.hpp"

namespace quail {
namespace {

constexpr int backlog = 128;
constexpr int exit_temporary = 111;

volatile sig_atomic_t stopping = 0;
void on_term(int) { stopping = 1; }
void on_child(int) {}

int refuse_start(const std::string& why) {
  log_error({{"event", "refused"}, {"reason", why}});
  return exit_temporary;
}

bool crash_signal(int sig) {
  switch (sig) {
    case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGABRT: case SIGSYS: case SIGTRAP: return true;
    default: return false;
  }
}

// Reaps ended children; crashed: the signal of the first that died of a crash.
void reap(int& crashed) {
  int w;
  pid_t pid;
  while ((pid = ::waitpid(-1, &w, WNOHANG)) > 0) {
    if (WIFSIGNALED(w) && crash_signal(WTERMSIG(w)) && crashed == 0) {
      crashed = WTERMSIG(w);
      log_error({{"event", "child-signaled"}, {"pid", pid}, {"signal", crashed}});
    }
  }
}

Result<Fd> bind_socket(const ResidentServer& spec) {
  const std::string& path = spec.socket_path;
  // 0600 from the start; a system install's then goes to the sessions' user.
  auto bound = bind_unix_private(path);
  if (!bound) return bound.error();
  Fd listener = std::move(*bound);
  if ((spec.uid || !spec.groups.empty()) &&
      ::chown(path.c_str(), spec.uid ? *spec.uid : static_cast<uid_t>(-1),
              spec.groups.empty() ? static_cast<gid_t>(-1) : spec.groups.front()) != 0) {
    return sys_error(ErrorKind::temporary, "give " + path + " to the sessions' user");
  }
  if (::listen(listener.get(), backlog) != 0) return sys_error(ErrorKind::temporary, "listen");
  return listener;
}

}  // namespace

bool caller_is_trusted(int conn) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && (cred.uid == ::geteuid() || cred.uid == 0)) {
    return true;
  }
  log_warn({{"event", "refused"}, {"reason", "a caller of uid " + std::to_string(cred.uid) + ", not the sessions'"}});
  return false;
}

bool read_hello(int conn, size_t max, int timeout_ms, std::string& line, std::span<Fd> fds) {
  line.clear();
  int waited = 0;
  while (line.find('\n') == std::string::npos) {
    pollfd p{conn, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) {
      if ((waited += 100) >= timeout_ms) return false;
      continue;
    }
    char buf[256];
    bool truncated = false;
    ssize_t n = recv_with_fds(conn, buf, std::min(sizeof buf, max + 1 - line.size()), fds, truncated);
    if (n <= 0 || truncated) return false;
    line.append(buf, static_cast<size_t>(n));
    if (line.size() > max) return false;
  }
  for (const auto& fd : fds) {
    if (!fd.valid()) return false;
  }
  return true;
}

int run_resident_server(const ResidentServer& spec) {
  if ((spec.uid || !spec.groups.empty()) && ::geteuid() != 0) return refuse_start("-u and -g need root");
  auto listener = bind_socket(spec);
  if (!listener) return refuse_start(listener.error().reason);
  if (auto d = drop_privileges(spec.uid, spec.groups); !d) return refuse_start(d.error().reason);

  struct sigaction sa{};
  sa.sa_handler = on_term;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  // A child's end wakes us (SIGCHLD, only inside ppoll): a crash is known at
  // once, before the next caller in the backlog gets a child of this layout.
  sa.sa_handler = on_child;
  ::sigaction(SIGCHLD, &sa, nullptr);
  sigset_t blocked, original, waiting;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGCHLD);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGINT);
  ::sigprocmask(SIG_BLOCK, &blocked, &original);
  // What ppoll lets in: these three even if whoever started us had them blocked.
  waiting = original;
  sigdelset(&waiting, SIGCHLD);
  sigdelset(&waiting, SIGTERM);
  sigdelset(&waiting, SIGINT);

  ::malloc_trim(0);  // a child's heap starts on fresh pages, not copies of ours
  ::prctl(PR_SET_NAME, spec.server_name);
  log_info({{"event", "started"}, {"socket", spec.socket_path}, {"uid", ::geteuid()}});
  signal_service_ready();
  unsigned long sessions = 0;
  int crashed = 0;
  for (;;) {
    reap(crashed);
    if (crashed != 0) {
      log_error({{"event", "exiting"}, {"reason", "a session's helper died of signal " + std::to_string(crashed) +
                                                      "; a fresh start gets a fresh address layout"},
                 {"sessions", sessions}});
      ::unlink(spec.socket_path.c_str());  // callers exec the helper until the next start binds
      return exit_temporary;
    }
    if (stopping) break;
    pollfd p{listener->get(), POLLIN, 0};
    int r = ::ppoll(&p, 1, nullptr, &waiting);
    if (r < 0 && errno != EINTR) return refuse_start(std::string("poll: ") + std::strerror(errno));
    if (r <= 0) continue;
    reap(crashed);  // one that crashed before now stops us before another shares its layout
    if (crashed != 0) continue;
    Fd conn(::accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) {
      // The caller went (ECONNABORTED), or we are out of descriptors or memory:
      // the connection waits in the backlog, so pause rather than spin on it.
      if (errno != ECONNABORTED && errno != EINTR && errno != EAGAIN) ::poll(nullptr, 0, 10);
      continue;
    }
    spec.before_fork();
    pid_t pid = ::fork();
    if (pid < 0) {
      // Closing the connection unread tells the caller at once (ECONNRESET).
      log_warn({{"event", "fork"}, {"result", "fail"}, {"reason", std::strerror(errno)}});
      continue;
    }
    if (pid == 0) {
      ::prctl(PR_SET_NAME, spec.child_name);
      listener->reset();
      sa.sa_handler = SIG_DFL;
      ::sigaction(SIGTERM, &sa, nullptr);
      ::sigaction(SIGINT, &sa, nullptr);
      ::sigaction(SIGCHLD, &sa, nullptr);
      ::sigprocmask(SIG_SETMASK, &original, nullptr);
      ::_exit(spec.child(std::move(conn)));
    }
    ++sessions;
  }
  // Sessions under way keep their helpers: each ends with its caller.
  ::unlink(spec.socket_path.c_str());
  log_info({{"event", "stopped"}, {"sessions", sessions}});
  return 0;
}

}  // namespace quail
