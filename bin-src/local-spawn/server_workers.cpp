// The fork server's delivery workers: see worker.hpp and man/local-spawn.8,
// "Workers". A worker is forked on demand, gets one request at a time over its
// own socket pair, and is kept for the next while it is idle. Switching users,
// server_uid_workers.cpp decides which user's worker may take a request.
#include <cerrno>
#include <csignal>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "delivery_terms.hpp"
#include "server.hpp"
#include "uid_route.hpp"
#include "worker.hpp"

namespace quail {
namespace {

// Idle workers kept after a burst; one more idle than this exits when it finishes.
constexpr size_t max_idle_workers = 32;  // above concurrencylocal's default (20)

}  // namespace

void Server::dispatch(const LspawnRequest& req, int message_fd, const Identity* who) {
  // The worker idle longest ago is at the front: take the most recent one (warm pages).
  for (size_t i = workers_.size(); i-- > 0;) {
    Worker& w = workers_[i];
    if (w.busy || !w.ctl.valid()) continue;
    // Switching users: only a worker that is the delivery's user, started under
    // the login table and key of now (uid_route.hpp).
    if (who && !(w.who && same_identity(*w.who, *who) && w.generation == generation_)) continue;
    if (send_request(w.ctl.get(), req, message_fd)) {
      w.busy = true;
      w.dlv = req.dlv;
      return;
    }
    w.ctl.reset();  // it is gone (its end of the pair closed): reaped when its SIGCHLD comes
  }
  if (auto s = fork_worker(who); !s) {
    reply({req.dlv, 111, s.error().reason + " (#4.3.0)"});
    return;
  }
  Worker& w = workers_.back();
  if (auto s = send_request(w.ctl.get(), req, message_fd); !s) {
    w.ctl.reset();
    reply({req.dlv, 111, s.error().reason + " (#4.3.0)"});
    return;
  }
  w.busy = true;
  w.dlv = req.dlv;
}

Status Server::fork_worker(const Identity* who) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return sys_error(ErrorKind::temporary, "create a worker's socket pair");
  }
  Fd mine(sv[0]), theirs(sv[1]);
  // Switching users: the groups it will hold, recorded here so that a change
  // of /etc/group can be compared with them (regroup_workers).
  std::vector<gid_t> groups;
  if (who) {
    auto g = worker_groups(*who);
    if (!g) return Error{ErrorKind::temporary, g.error().reason};
    groups = std::move(*g);
  }
  sigset_t all, old;
  sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, &old);
  pid_t pid = ::fork();
  if (pid == 0) run_delivery_worker({theirs.get(), s_.root, &s_.env, &reset_signals_, who, &groups});
  int err = errno;
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) return sys_error(ErrorKind::temporary, "fork", err);
  workers_.push_back({pid, std::move(mine)});
  if (who) {
    workers_.back().who = *who;
    workers_.back().groups = std::move(groups);
    workers_.back().generation = generation_;
  }
  return {};
}

void Server::on_worker(pid_t pid) {
  for (size_t i = 0; i < workers_.size(); ++i) {
    Worker& w = workers_[i];
    if (w.pid != pid) continue;
    auto r = recv_reply(w.ctl.get());
    if (!r || r->dlv != w.dlv) {
      // The worker ended, or answered for another delivery (a bug): it is no
      // longer used, and its reaping reports the delivery (killed by a signal,
      // exited) as a temporary failure, which queue-send logs.
      ::kill(pid, SIGKILL);
      w.ctl.reset();
      return;
    }
    w.busy = false;
    reply(*r);
    if (!keep_idle(w)) w.ctl.reset();  // it sees the end of its socket and exits
    return;
  }
}

bool Server::keep_idle(Worker& w) {
  if (w.who) return keep_idle_uid(w);
  size_t idle = 0;
  for (const Worker& o : workers_) idle += !o.busy && o.ctl.valid();
  return idle <= max_idle_workers;
}

void Server::worker_ended(size_t i, int wstatus) {
  Worker w = std::move(workers_[i]);
  workers_.erase(workers_.begin() + static_cast<std::ptrdiff_t>(i));
  if (!w.busy) return;
  // A reply it sent just before it exited is still in the socket (no blocking:
  // its end is closed now).
  if (w.ctl.valid()) {
    if (auto r = recv_reply(w.ctl.get()); r && r->dlv == w.dlv) {
      reply(*r);
      return;
    }
  }
  if (WIFSIGNALED(wstatus)) {
    reply(reply_for(w.dlv, wstatus, ""));
    return;
  }
  int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
  reply({w.dlv, 111, "local-deliver exited " + std::to_string(code) + " during the delivery (#4.3.0)"});
}

void Server::stop_workers() {
  // Idle workers see the end of their socket and exit at once: wait for them, so
  // nothing is left once the server has gone. A busy one finishes its delivery
  // on its own (its reply is lost; the scheduler retries), as a child does.
  for (Worker& w : workers_) {
    bool idle = !w.busy;
    w.ctl.reset();
    if (idle) {
      while (::waitpid(w.pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  }
  workers_.clear();
}

}  // namespace quail
