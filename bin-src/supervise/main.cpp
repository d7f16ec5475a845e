// supervise: runs one service of `quail up` and keeps it running. It starts the
// service's program, tells `quail up` once it is ready, and restarts it after
// every exit with a back-off (1 s, doubling to 60 s; back to 1 s after a run of
// a minute), logging each exit and restart. With -l it binds the listener's
// socket itself and hands it to each child (tcpserver) as fd 3 by socket
// activation, so the socket and the connections queued on it outlive a crash.
// SIGTERM or SIGINT: passed on, then supervise exits when the child has gone.
// SIGHUP: passed on. See man/supervise.8.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <getopt.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.hpp"
#include "log.hpp"
#include "program.hpp"
#include "root.hpp"
#include "supervise.hpp"

namespace {

namespace sv = quail::supervise;
constexpr int first_ready_ms = 15000;  // longer than quail up's own wait: up decides
constexpr int64_t min_backoff_ms = 1000, max_backoff_ms = 60000, stable_run_ms = 60000;

int usage(const std::string& why) {
  quail::log_error({{"event", "usage"}, {"reason", why + "; usage: supervise [-l HOST -p PORT [-b BACKLOG]] SERVICE PROGRAM [ARG...]"}});
  return sv::exit_usage;
}

std::string how_it_ended(int w) {
  if (WIFSIGNALED(w)) return "signal " + std::to_string(WTERMSIG(w));
  return "exit " + std::to_string(WEXITSTATUS(w));
}

// $QUAIL_READY_FD of quail up, or -1; close-on-exec so no child inherits it.
int up_ready_fd() {
  const char* v = std::getenv("QUAIL_READY_FD");
  int fd = -1;
  if (!v || std::from_chars(v, v + std::strlen(v), fd).ec != std::errc() || fd < 3) return -1;
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
}

// Waits for the first child's readiness; false when it closed the pipe, took
// longer than first_ready_ms, or quail up gave up on us first (SIGTERM, SIGINT).
bool first_ready(int fd) {
  for (int64_t end = quail::monotonic_ms() + first_ready_ms; quail::monotonic_ms() < end;) {
    auto r = sv::wait_ready(fd, 100);
    if (r != sv::Readiness::waiting) return r == sv::Readiness::ready;
    sigset_t pending;
    ::sigpending(&pending);
    if (sigismember(&pending, SIGTERM) || sigismember(&pending, SIGINT)) return false;
  }
  return false;
}

struct Supervisor {
  std::string root, service;
  std::vector<std::string> argv;
  int socket_fd = -1;
  pid_t child = 0;
  int64_t started_ms = 0;
  long restarts = 0;
  int64_t backoff_ms = min_backoff_ms;
  int64_t restart_at = 0;
  bool stopping = false;

  bool start(int ready_fd) {
    auto pid = sv::start_child(argv, socket_fd, ready_fd);
    if (!pid) {
      quail::log_error({{"event", "start_failed"}, {"service", service}, {"reason", pid.error().reason}});
      return false;
    }
    child = *pid;
    started_ms = quail::monotonic_ms();
    if (auto s = sv::write_state(root, service, child, static_cast<long>(::time(nullptr)), restarts); !s) {
      quail::log_warn({{"event", "state_failed"}, {"service", service}, {"reason", s.error().reason}});
    }
    return true;
  }

  // The child has ended: log it and plan the next start.
  void ended(int w) {
    int64_t ran = quail::monotonic_ms() - started_ms;
    child = 0;
    if (stopping) return;
    backoff_ms = ran >= stable_run_ms ? min_backoff_ms : (restart_at == 0 ? min_backoff_ms : std::min(backoff_ms * 2, max_backoff_ms));
    restart_at = quail::monotonic_ms() + backoff_ms;
    (void)sv::write_state(root, service, 0, static_cast<long>(::time(nullptr)), restarts);
    quail::log_warn({{"event", "exit"}, {"service", service}, {"status", how_it_ended(w)}, {"ran_ms", ran},
                     {"restart_in_ms", backoff_ms}});
  }

  void restart() {
    ++restarts;
    if (start(-1)) {
      quail::log_warn({{"event", "restart"}, {"service", service}, {"pid", child}, {"restarts", restarts}});
    } else {
      backoff_ms = std::min(backoff_ms * 2, max_backoff_ms);
      restart_at = quail::monotonic_ms() + backoff_ms;
    }
  }

  int loop(const sigset_t& set) {
    for (;;) {
      if (stopping && child == 0) {
        sv::clear_state(root, service);
        quail::log_info({{"event", "stopped"}, {"service", service}});
        return sv::exit_ok;
      }
      if (child == 0 && quail::monotonic_ms() >= restart_at) restart();
      int64_t wait = child == 0 ? std::max<int64_t>(restart_at - quail::monotonic_ms(), 1) : 60000;
      timespec ts{static_cast<time_t>(wait / 1000), static_cast<long>(wait % 1000) * 1000000L};
      siginfo_t si;
      int sig = ::sigtimedwait(&set, &si, &ts);
      if (sig == SIGCHLD) {
        int w;
        while (pid_t p = ::waitpid(-1, &w, WNOHANG)) {
          if (p < 0) break;
          if (p == child) ended(w);
        }
      } else if (sig == SIGTERM || sig == SIGINT) {
        stopping = true;
        if (child) ::kill(child, SIGTERM);
      } else if (sig == SIGHUP) {
        if (child) ::kill(child, SIGHUP);
      }
    }
  }
};

int run(int argc, char** argv) {
  std::string host, port;
  int backlog = 256;
  opterr = 0;
  int c;
  while ((c = ::getopt(argc, argv, "+l:p:b:")) != -1) {
    if (c == 'l') host = optarg;
    else if (c == 'p') port = optarg;
    else if (c == 'b' && std::from_chars(optarg, optarg + std::strlen(optarg), backlog).ec == std::errc() && backlog > 0) continue;
    else return usage("unknown option or bad backlog");
  }
  if (argc - optind < 2) return usage("SERVICE and PROGRAM are needed");
  if (host.empty() != port.empty()) return usage("-l and -p go together");
  Supervisor s;
  s.root = quail::resolve_root(nullptr);
  s.service = argv[optind];
  for (int i = optind + 1; i < argc; ++i) s.argv.emplace_back(argv[i]);
  if (s.argv[0].empty() || s.argv[0][0] != '/') return usage("PROGRAM must be an absolute path");

  // Blocked before the first fork so no child's end or TERM is missed.
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, sig);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);

  quail::Fd sock;
  if (!host.empty()) {
    auto fd = sv::listen_on(host, port, backlog);
    if (!fd) {
      quail::log_error({{"event", "fatal"}, {"service", s.service}, {"reason", fd.error().reason}});
      return fd.error().kind == quail::ErrorKind::permanent ? sv::exit_usage : sv::exit_trouble;
    }
    sock = std::move(*fd);
    s.socket_fd = sock.get();
  }

  // The first start must come up: a program that never gets ready is the
  // administrator's to fix (quail up shows the child's last log line), not ours to retry.
  int up_fd = up_ready_fd();
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return sv::exit_trouble;
  quail::Fd ready_r(p[0]), ready_w(p[1]);
  if (!s.start(ready_w.get())) return sv::exit_trouble;
  ready_w.reset();
  if (!first_ready(ready_r.get())) {
    // Within quail up's own 2 s for us: a child that ignores SIGTERM gets SIGKILL.
    ::kill(s.child, SIGTERM);
    int w;
    for (int i = 0; i < 100 && ::waitpid(s.child, &w, WNOHANG) == 0; ++i) ::usleep(10000);
    if (::waitpid(s.child, &w, WNOHANG) == 0) {
      ::kill(s.child, SIGKILL);
      ::waitpid(s.child, &w, 0);
    }
    sv::clear_state(s.root, s.service);
    return sv::exit_trouble;
  }
  ready_r.reset();
  quail::log_info({{"event", "start"}, {"service", s.service}, {"pid", s.child}});
  if (up_fd >= 0) {
    (void)quail::write_all(up_fd, "\n");
    ::close(up_fd);
  }
  return s.loop(set);
}

}  // namespace

int main(int argc, char** argv) {
  return quail::run_main("supervise", {sv::exit_trouble, sv::exit_trouble}, [&] { return run(argc, argv); });
}
