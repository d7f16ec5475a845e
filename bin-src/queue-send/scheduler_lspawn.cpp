// Local deliveries through local-spawn (system installs, man/local-spawn.8): when
// $QUAIL_LSPAWN_FD names local-spawn's socket, each local delivery is one request
// packet with the queue file attached, and one reply packet comes back per dlv.
#include <charconv>
#include <cstdlib>
#include <fcntl.h>
#include <string_view>
#include <sys/wait.h>
#include <unistd.h>

#include "log.hpp"
#include "lspawn.hpp"
#include "scheduler.hpp"

namespace quail {

Status Scheduler::open_lspawn() {
  const char* v = std::getenv("QUAIL_LSPAWN_FD");
  if (!v || !*v) return {};
  std::string_view s(v);
  int fd = -1;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), fd);
  if (ec != std::errc() || p != s.data() + s.size() || fd < 3 || ::fcntl(fd, F_GETFD) < 0) {
    return Error{ErrorKind::config, "QUAIL_LSPAWN_FD=" + std::string(s) + " is not an open descriptor"};
  }
  // Root's socket must not leak into remote-deliver or queue-inject.
  if (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) return sys_error(ErrorKind::temporary, "set close-on-exec on fd " + std::string(s));
  lspawn_.reset(fd);
  return {};
}

Status Scheduler::start_via_lspawn(Attempt& a, const Message& m, const Job& job, int msg_fd) {
  LspawnRequest req;
  req.dlv = a.dlv;
  req.message_length = m.length;
  req.sender = job.sender;
  req.recipient = m.rcpts[job.rcpts[0]].address;
  return send_request(lspawn_.get(), req, msg_fd);
}

void Scheduler::on_lspawn() {
  auto reply = recv_reply(lspawn_.get());
  if (!reply) {
    if (reply.error().kind == ErrorKind::format) {
      log_error({{"event", "lspawn"}, {"reason", reply.error().reason}});
      return;
    }
    // local-spawn is gone: nothing local can be delivered. What it was running
    // counts as temporary failures, and queue-send stops (local-spawn is its parent).
    log_error({{"event", "lspawn"}, {"reason", reply.error().reason}});
    lspawn_.reset();
    auto spawned = std::move(spawned_);
    spawned_.clear();
    for (auto& [dlv, a] : spawned) {
      a.report = "local-spawn is gone (#4.3.0)";
      finish(a, ExitStatus{false, 111});
    }
    if (!stopping_) {
      stopping_ = true;
      exit_code_ = 111;
      drop_ready();
      retire_runs();
    }
    return;
  }
  auto it = spawned_.find(reply->dlv);
  if (it == spawned_.end()) {
    log_error({{"event", "lspawn"}, {"dlv", reply->dlv}, {"reason", "reply for an unknown delivery"}});
    return;
  }
  Attempt a = std::move(it->second);
  spawned_.erase(it);
  a.report = reply->reason;
  finish(a, ExitStatus{false, reply->code});
}

// local-spawn run as "-" made its fork server our child: closing the socket ends
// it, and waiting for it means that once we are gone (quail down) nothing of the
// service is left. Under a root local-spawn (our parent) there is no child here.
void Scheduler::close_lspawn() {
  if (!lspawn_.valid()) return;
  lspawn_.reset();
  for (int i = 0; i < 500; ++i) {
    pid_t pid = ::waitpid(-1, nullptr, WNOHANG);
    if (pid < 0) return;  // ECHILD: none left
    if (pid == 0) ::usleep(10000);
  }
}

}  // namespace quail
