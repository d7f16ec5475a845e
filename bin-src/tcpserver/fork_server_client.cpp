// tcpserver's side of -F: see fork_server.hpp.
#include "fork_server_client.hpp"

#include <cerrno>
#include <csignal>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "fd_passing.hpp"
#include "spawn_session.hpp"

namespace quail::tcpserver {
namespace {

// A fork takes microseconds; a server that has not answered in this long is stuck.
constexpr int answer_timeout_ms = 10000;

}  // namespace

Result<ForkServer> ForkServer::start(const std::vector<std::string>& argv, std::vector<std::string> env) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return sys_error(ErrorKind::temporary, "socketpair for the fork server");
  }
  Fd ours(pair[0]), theirs(pair[1]);
  env.push_back(std::string(fork_server::env_name) + "=1");
  auto pid = spawn_session(argv, env, theirs.get());
  if (!pid) return pid.error();
  return ForkServer(*pid, std::move(ours));
}

bool ForkServer::take(const fork_server::Report& r, std::vector<Ended>& ended) {
  if (r.kind != fork_server::Report::exited) return false;
  ended.push_back(Ended{r.pid, r.status});
  return true;
}

Result<pid_t> ForkServer::spawn(const std::vector<std::string>& env, int conn, std::vector<Ended>& ended,
                                bool& may_serve) {
  may_serve = false;
  std::string request;
  for (const auto& e : env) {
    request += e;
    request += '\0';
  }
  if (request.size() > fork_server::max_request) return Error{ErrorKind::temporary, "fork server: environment too large"};
  if (send_with_fd(channel_.get(), request, conn, MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    return sys_error(ErrorKind::temporary, "fork server: send a request");
  }
  may_serve = true;
  for (;;) {
    pollfd p{channel_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, answer_timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return Error{ErrorKind::temporary, "fork server: no answer"};
    fork_server::Report rep{};
    ssize_t n = ::recv(channel_.get(), &rep, sizeof rep, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return Error{ErrorKind::temporary, "fork server: gone"};
    if (n != static_cast<ssize_t>(sizeof rep)) return Error{ErrorKind::temporary, "fork server: a malformed answer"};
    if (take(rep, ended)) continue;
    if (rep.kind == fork_server::Report::spawned && rep.pid > 0) return static_cast<pid_t>(rep.pid);
    if (rep.kind == fork_server::Report::failed) {
      may_serve = false;
      return sys_error(ErrorKind::temporary, "fork server: fork", rep.status);
    }
    return Error{ErrorKind::temporary, "fork server: a malformed answer"};
  }
}

bool ForkServer::read_ended(std::vector<Ended>& ended) {
  for (;;) {
    fork_server::Report rep{};
    ssize_t n = ::recv(channel_.get(), &rep, sizeof rep, MSG_DONTWAIT);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    if (n == 0) return false;
    if (n == static_cast<ssize_t>(sizeof rep)) take(rep, ended);
  }
}

void ForkServer::stop() {
  (void)::send(channel_.get(), fork_server::stop_request.data(), fork_server::stop_request.size(),
               MSG_NOSIGNAL | MSG_DONTWAIT);
}

bool crashed(int status) {
  if (!WIFSIGNALED(status)) return false;
  switch (WTERMSIG(status)) {
    case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGABRT: case SIGSYS: case SIGTRAP: return true;
    default: return false;
  }
}

}  // namespace quail::tcpserver
