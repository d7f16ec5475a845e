// The fork server: see server.hpp. Signals reach the loop through a self-pipe;
// every signal is blocked across fork() so a child never runs our handlers.
#include "server.hpp"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.hpp"
#include "clock.hpp"
#include "control.hpp"
#include "delivery_terms.hpp"
#include "home_table.hpp"
#include "log.hpp"

namespace quail {
namespace {

constexpr size_t max_reason = 4096;

int g_signal_read = -1, g_signal_write = -1;
volatile sig_atomic_t g_pending[3] = {0, 0, 0};  // SIGTERM, SIGHUP, SIGINT to pass on
constexpr int forwarded[3] = {SIGTERM, SIGHUP, SIGINT};

// The refresher's whole work, in the forked child; its exit code.
int refresh_home_table_now(const std::string& root) {
  auto minuid = Control(root).integer("minuid");
  if (!minuid) {
    log_warn({{"event", "homes"}, {"reason", minuid.error().reason}});
    return 111;
  }
  auto u = refresh_home_table(root, *minuid);
  if (!u) {
    log_warn({{"event", "homes"}, {"reason", u.error().reason}});
    return 111;
  }
  if (u->written) log_info({{"event", "homes"}, {"logins", u->logins}, {"listed", u->listed}, {"kept", u->kept}});
  return 0;
}

void on_signal(int sig) {
  for (int i = 0; i < 3; ++i) {
    if (sig == forwarded[i]) g_pending[i] = 1;
  }
  int saved = errno;
  (void)!::write(g_signal_write, "", 1);
  errno = saved;
}

}  // namespace

Status Server::install_signals(bool forward) {
  int sp[2];
  if (::pipe2(sp, O_CLOEXEC | O_NONBLOCK) != 0) return sys_error(ErrorKind::temporary, "create the signal pipe");
  g_signal_read = sp[0];
  g_signal_write = sp[1];
  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigfillset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGCHLD, &sa, nullptr);
  for (int sig : forwarded) {
    if (forward) {
      ::sigaction(sig, &sa, nullptr);
    } else {
      ::signal(sig, SIG_IGN);
    }
  }
  return {};
}

int Server::run() {
  // A scheduler child: serve until it exits. A scheduler parent: until its socket closes.
  std::vector<pollfd> fds;
  std::vector<pid_t> polled;
  while (s_.scheduler > 0 || (s_.scheduler < 0 && sock_.valid())) {
    fds.assign({{sock_.valid() ? sock_.get() : -1, POLLIN, 0}, {g_signal_read, POLLIN, 0}});
    polled.clear();
    for (const Worker& w : workers_) {
      if (!w.busy || !w.ctl.valid()) continue;
      fds.push_back({w.ctl.get(), POLLIN, 0});
      polled.push_back(w.pid);
    }
    refresh_homes();
    end_idle_workers();
    if (::poll(fds.data(), fds.size(), poll_timeout_ms()) < 0) {
      if (errno == EINTR) continue;
      log_error({{"event", "fatal"}, {"reason", sys_error(ErrorKind::temporary, "poll").reason}});
      stop_workers();
      return 111;
    }
    // Replies before reaping: a worker that answered and then exited was not lost.
    for (size_t i = 0; i < polled.size(); ++i) {
      if (fds[2 + i].revents) on_worker(polled[i]);
    }
    if (fds[1].revents) on_signals();
    if (fds[0].revents) on_request();
  }
  stop_workers();
  return s_.scheduler == 0 ? scheduler_status_ : 0;
}

void Server::on_request() {
  Fd msg;
  auto req = recv_request(sock_.get(), msg);
  if (req) {
    start(*req, msg.get());
    return;
  }
  if (req.error().kind == ErrorKind::format) {
    log_warn({{"event", "bad-request"}, {"reason", req.error().reason}});
    return;
  }
  // End of stream (the scheduler is exiting) or a broken socket: no more requests.
  if (req.error().kind != ErrorKind::not_found) log_warn({{"event", "bad-request"}, {"reason", req.error().reason}});
  sock_.reset();
}

void Server::start(const LspawnRequest& req, int message_fd) {
  if (!s_.switching_users) {
    dispatch(req, message_fd);
    return;
  }
  if (dispatch_to_uid(req, message_fd)) return;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    reply({req.dlv, 111, sys_error(ErrorKind::temporary, "create a pipe").reason + " (#4.3.0)"});
    return;
  }
  Fd rd(p[0]), wr(p[1]);
  ::fcntl(rd.get(), F_SETFL, O_NONBLOCK);
  sigset_t all, old;
  sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, &old);
  pid_t pid = ::fork();
  if (pid == 0) {
    run_delivery_child({&req, message_fd, wr.get(), s_.root, s_.switching_users, &s_.env, &reset_signals_});
  }
  int err = errno;
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    reply({req.dlv, 111, sys_error(ErrorKind::temporary, "fork", err).reason + " (#4.3.0)"});
    return;
  }
  children_.push_back({pid, req.dlv, std::move(rd)});
}

void Server::on_signals() {
  char drain[64];
  while (::read(g_signal_read, drain, sizeof drain) > 0) {
  }
  for (int i = 0; i < 3; ++i) {
    if (!g_pending[i]) continue;
    g_pending[i] = 0;
    if (s_.scheduler > 0) ::kill(s_.scheduler, forwarded[i]);
  }
  int w;
  pid_t pid;
  while ((pid = ::waitpid(-1, &w, WNOHANG)) > 0) {
    if (pid == refresher_) {
      refresher_ = -1;
      continue;
    }
    if (pid == s_.scheduler) {
      scheduler_status_ = WIFEXITED(w) ? WEXITSTATUS(w) : 111;
      s_.scheduler = 0;
      continue;
    }
    for (size_t i = 0; i < children_.size(); ++i) {
      if (children_[i].pid != pid) continue;
      finish(children_[i], w);
      children_[i] = std::move(children_.back());
      children_.pop_back();
      break;
    }
    for (size_t i = 0; i < workers_.size(); ++i) {
      if (workers_[i].pid == pid) {
        worker_ended(i, w);
        break;
      }
    }
  }
}

void Server::finish(Child& c, int wstatus) {
  // The child has exited, so its reason is all in the pipe; a grandchild that
  // kept the pipe open cannot make us wait (non-blocking).
  std::string out;
  char buf[max_reason];
  ssize_t n;
  while (out.size() < max_reason && (n = ::read(c.reason.get(), buf, max_reason - out.size())) > 0) {
    out.append(buf, static_cast<size_t>(n));
  }
  c.reason.reset();
  reply(reply_for(c.dlv, wstatus, out));
}

int Server::poll_timeout_ms() const {
  if (!s_.switching_users) return -1;
  long long wait = next_refresh_ms_ - monotonic_ms();
  int idle = idle_timeout_ms();
  if (idle >= 0 && idle < wait) wait = idle;
  return wait < 0 ? 0 : static_cast<int>(wait);
}

void Server::refresh_homes() {
  if (!s_.switching_users || refresher_ > 0) return;
  long long now = monotonic_ms();
  if (now < next_refresh_ms_) return;
  next_refresh_ms_ = now + home_table_refresh_seconds * 1000LL;
  // A child, so a slow home (NFS) never holds up deliveries, and whatever the
  // listing allocates is gone with it.
  sigset_t all, old;
  sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, &old);
  pid_t pid = ::fork();
  if (pid == 0) {
    reset_child_signals(reset_signals_);
    close_from(3);
    int code = 111;
    try {
      code = refresh_home_table_now(s_.root);
    } catch (...) {
      log_error({{"event", "homes"}, {"reason", "internal error"}});
    }
    _exit(code);
  }
  int err = errno;
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    log_warn({{"event", "homes"}, {"reason", sys_error(ErrorKind::temporary, "fork", err).reason}});
    return;
  }
  refresher_ = pid;
}

void Server::reply(const LspawnReply& r) {
  // Without the socket (the scheduler has gone) the outcome is lost: the scheduler
  // retries what it did not hear about.
  if (sock_.valid()) (void)send_reply(sock_.get(), r);
}

}  // namespace quail
