// mailauth -d: the resident helper. smtpd used to exec mailauth for every
// session of a client without relay rights, and that start (exec, the static-pie
// relocation, glibc's and OpenSSL's CPUID probes, ~165 page faults) was the
// largest part of mailauth's cost for an MX peer that sends one message per
// connection (bench/README.md). quail up starts this one under supervise; it
// binds ROOT/run/mailauth.sock (0600, given with -u and -g to the user smtpd's sessions run as) and forks a process
// per connection. That process is an exec'd helper's equal: it reads control/ and
// makes its DNS channel for its one session, and never serves another. The
// parent never reads a caller's byte.
//
// The children share the parent's address layout, and they parse DNS answers
// from anywhere. A child that dies of a crash signal may be someone probing that
// layout, so the parent then exits and supervise starts a fresh one; until it
// listens again, smtpd execs mailauth as before.
#include "resident.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <malloc.h>
#include <optional>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd.hpp"
#include "log.hpp"
#include "mailauth_wire.hpp"
#include "process_ids.hpp"
#include "service.hpp"
#include "session.hpp"

namespace quail::mailauth {
namespace {

constexpr int backlog = 128;
// smtpd sends its hello in the same breath as its connect.
constexpr int hello_timeout_ms = 10000;
constexpr size_t max_sid = 64;

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

// In the child: the caller must be smtpd (our own uid, or root's), and its hello
// names the session and brings the session's stderr, where an exec'd helper's
// log lines would have gone.
int serve_caller(const std::string& root, Fd conn) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(conn.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
      (cred.uid != ::geteuid() && cred.uid != 0)) {
    log_warn({{"event", "refused"}, {"reason", "a caller of uid " + std::to_string(cred.uid) + ", not smtpd's"}});
    return exit_temporary;
  }
  int fd = -1;
  auto hello = read_frame(conn.get(), hello_timeout_ms, &fd);
  Fd err(fd);
  if (!hello || hello->size() != 2 || (*hello)[0] != "session" || (*hello)[1].empty() ||
      (*hello)[1].size() > max_sid || !err.valid()) {
    log_warn({{"event", "refused"}, {"reason", hello ? "not a session's hello" : hello.error().reason}});
    return exit_temporary;
  }
  if (::dup2(err.get(), 2) < 0 || ::dup2(conn.get(), 0) < 0 || ::dup2(conn.get(), 1) < 0) return exit_temporary;
  err.reset();
  conn.reset();
  return serve_session(root, (*hello)[1]);
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

}  // namespace

int run_resident(const std::string& root, std::optional<uid_t> uid, const std::vector<gid_t>& groups) {
  if ((uid || !groups.empty()) && ::geteuid() != 0) return refuse_start("-u and -g need root");
  const std::string path = socket_path(root);
  sockaddr_un addr;
  if (!socket_address(root, addr)) return refuse_start("socket path too long: " + path);
  Fd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener.valid()) return refuse_start(std::string("socket: ") + std::strerror(errno));
  ::unlink(path.c_str());
  // 0600 from the start; a system install's then goes to quail-smtpd.
  mode_t old = ::umask(0177);
  int b = ::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (b != 0) return refuse_start("bind " + path + ": " + std::strerror(errno));
  if ((uid || !groups.empty()) && ::chown(path.c_str(), uid ? *uid : -1, groups.empty() ? -1 : groups.front()) != 0) {
    return refuse_start("unable to give " + path + " to the sessions' user: " + std::strerror(errno));
  }
  if (::listen(listener.get(), backlog) != 0) return refuse_start(std::string("listen: ") + std::strerror(errno));
  if (auto d = drop_privileges(uid, groups); !d) return refuse_start(d.error().reason);

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
  waiting = original;

  ::malloc_trim(0);  // a child's heap starts on fresh pages, not copies of ours
  // ps tells the server from its sessions' helpers, as smtpd-forks from smtpd.
  ::prctl(PR_SET_NAME, "mailauth-forks");
  log_info({{"event", "started"}, {"socket", path}, {"uid", ::geteuid()}});
  signal_service_ready();
  unsigned long sessions = 0;
  int crashed = 0;
  for (;;) {
    reap(crashed);
    if (crashed != 0) {
      log_error({{"event", "exiting"}, {"reason", "a session's helper died of signal " + std::to_string(crashed) +
                                                      "; a fresh start gets a fresh address layout"},
                 {"sessions", sessions}});
      return exit_temporary;
    }
    if (stopping) break;
    pollfd p{listener.get(), POLLIN, 0};
    int r = ::ppoll(&p, 1, nullptr, &waiting);
    if (r < 0 && errno != EINTR) return refuse_start(std::string("poll: ") + std::strerror(errno));
    if (r <= 0) continue;
    reap(crashed);  // one that crashed before now stops us before another shares its layout
    if (crashed != 0) continue;
    Fd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) continue;  // the caller went, or EMFILE: its session execs mailauth
    pid_t pid = ::fork();
    if (pid < 0) {
      // Closing the connection tells the session at once: it execs mailauth.
      log_warn({{"event", "fork"}, {"result", "fail"}, {"reason", std::strerror(errno)}});
      continue;
    }
    if (pid == 0) {
      ::prctl(PR_SET_NAME, "mailauth");
      listener.reset();
      sa.sa_handler = SIG_DFL;
      ::sigaction(SIGTERM, &sa, nullptr);
      ::sigaction(SIGINT, &sa, nullptr);
      ::sigaction(SIGCHLD, &sa, nullptr);
      ::sigprocmask(SIG_SETMASK, &original, nullptr);
      ::_exit(serve_caller(root, std::move(conn)));
    }
    ++sessions;
  }
  // Sessions under way keep their helpers: each ends at its smtpd's EOF.
  log_info({{"event", "stopped"}, {"sessions", sessions}});
  return exit_ok;
}

}  // namespace quail::mailauth
