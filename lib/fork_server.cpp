// The program's side of tcpserver -F: see fork_server.hpp.
#include "fork_server.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <poll.h>
#include <string>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd.hpp"
#include "fd_passing.hpp"
#include "log.hpp"
#include "result.hpp"

namespace quail::fork_server {
namespace {

constexpr int exit_trouble = 111;

void report(Report::Kind kind, pid_t pid, int status) {
  Report r{kind, static_cast<int32_t>(pid), static_cast<int32_t>(status)};
  // tcpserver gone: nobody is left to count our sessions, and they run on without us.
  if (::send(0, &r, sizeof r, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof r)) _exit(0);
}

// Reports every child that ended; the number still running.
size_t reap(size_t running) {
  int status;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    if (running > 0) --running;
    report(Report::exited, pid, status);
  }
  return running;
}

// In the child: the session's environment (entries of buf, which this process
// keeps for good: putenv points into it), the connection on fds 0 and 1 (the
// channel goes), and the signal mask tcpserver's exec would have given.
void become_session(const char* program, char* buf, size_t len, Fd conn, const sigset_t& mask) {
  ::prctl(PR_SET_NAME, program);
  ::clearenv();
  for (size_t at = 0; at < len;) {
    char* entry = buf + at;
    size_t n = ::strnlen(entry, len - at);
    if (n > 0 && std::memchr(entry, '=', n) != nullptr) ::putenv(entry);
    at += n + 1;
  }
  if (::dup2(conn.get(), 0) != 0 || ::dup2(conn.get(), 1) != 1) _exit(exit_trouble);
  ::sigprocmask(SIG_SETMASK, &mask, nullptr);
}

}  // namespace

void serve_if_asked(const char* program) {
  const char* v = std::getenv(env_name);
  if (!v) return;
  ::unsetenv(env_name);
  // Only tcpserver -F's channel makes a fork server: a variable that leaked into
  // an ordinary start (inetd, a shell) must not turn a client's socket into one.
  int type = 0, domain = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_SEQPACKET) return;
  len = sizeof domain;
  if (::getsockopt(0, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_UNIX) return;
  log_set_program(program);
  // "smtpd-forks" in ps and /proc/PID/comm: the server, not a session.
  ::prctl(PR_SET_NAME, (std::string(program) + "-forks").substr(0, 15).c_str());
  sigset_t chld, mask;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &chld, &mask);
  Fd ended(::signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!ended.valid()) {
    log_error({{"event", "fork_server"}, {"reason", sys_error(ErrorKind::temporary, "signalfd").reason}});
    _exit(exit_trouble);
  }
  // On the heap, one byte more than a request can fill (the last entry's NUL),
  // and never freed: a child's environment points into its copy.
  char* buf = new char[max_request + 1];
  bool stopping = false;
  size_t running = 0;
  for (;;) {
    if (stopping && running == 0) _exit(0);
    pollfd p[2] = {{0, POLLIN, 0}, {ended.get(), POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      _exit(exit_trouble);
    }
    if (p[1].revents) {
      signalfd_siginfo si;
      while (::read(ended.get(), &si, sizeof si) > 0) {
      }
      running = reap(running);
    }
    if (!p[0].revents) continue;
    Fd conn;
    bool truncated = false;
    ssize_t n = recv_with_fd(0, buf, max_request, conn, truncated);
    if (n == 0) _exit(0);  // tcpserver is gone
    if (n < 0) {
      if (errno == EAGAIN) continue;
      _exit(exit_trouble);
    }
    if (!conn.valid()) {
      if (std::string_view(buf, static_cast<size_t>(n)) == stop_request) stopping = true;
      continue;
    }
    if (stopping || truncated) {
      report(Report::failed, 0, truncated ? E2BIG : ESHUTDOWN);
      continue;
    }
    buf[n] = '\0';
    pid_t pid = ::fork();
    if (pid == 0) {
      ended = Fd();
      become_session(program, buf, static_cast<size_t>(n), std::move(conn), mask);
      return;
    }
    if (pid < 0) {
      report(Report::failed, 0, errno);
    } else {
      ++running;
      report(Report::spawned, pid, 0);
    }
  }
}

}  // namespace quail::fork_server
