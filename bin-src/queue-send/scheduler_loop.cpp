// The event loop: poll(2) on the trigger FIFO, a signalfd (CHLD, HUP, TERM, INT)
// and the children's report pipes, with a timeout that is the next retry due, so
// an idle queue-send sleeps. Start-up lists todo/ and mess/ by name only and reads
// the files a batch per turn, so new mail is never stuck behind a backlog.
#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "durable.hpp"
#include "log.hpp"
#include "queue_stat.hpp"
#include "scheduler.hpp"

extern char** environ;

namespace quail {
namespace {
constexpr int64_t ns_per_ms = 1000000;
constexpr int64_t tmp_max_age_s = 36 * 3600;                      // queue-layout, invariant 4
constexpr int64_t tmp_clean_every_ns = 3600LL * 1000000000;       // and once an hour after start
constexpr int64_t max_sleep_ns = 3600LL * 1000000000;
}  // namespace

Status Scheduler::start() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGCHLD, SIGHUP, SIGTERM, SIGINT}) sigaddset(&set, sig);
  // Blocked here and read from the signalfd; posix_spawn clears the mask in children.
  if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return sys_error(ErrorKind::temporary, "block signals");
  int sfd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) return sys_error(ErrorKind::temporary, "create signalfd");
  signals_.reset(sfd);

  const std::string trigger = store_.dirs().trigger();
  auto r = open_fd(trigger, O_RDONLY | O_NONBLOCK);
  if (!r) return r.error();
  trigger_r_ = std::move(*r);
  // Two schedulers on one queue would deliver everything twice: the first one
  // holds an flock on the trigger for as long as it runs.
  if (::flock(trigger_r_.get(), LOCK_EX | LOCK_NB) != 0) {
    return sys_error(ErrorKind::temporary, "lock " + trigger + " (is another queue-send running?)");
  }
  // Our own writer keeps the FIFO from reporting EOF when an injector closes it.
  auto w = open_fd(trigger, O_WRONLY | O_NONBLOCK);
  if (!w) return w.error();
  trigger_w_ = std::move(*w);

  if (auto st = open_lspawn(); !st) return st;
  for (char** e = environ; *e; ++e) {
    std::string_view v(*e);
    if (v.starts_with("QUAIL_ROOT=") || v.starts_with("QUAIL_READY_FD=") || v.starts_with("QUAIL_MESSAGE_LENGTH=") ||
        v.starts_with("QUAIL_LSPAWN_FD=")) {
      continue;
    }
    child_env_.emplace_back(v);
  }
  child_env_.push_back("QUAIL_ROOT=" + s_.root);

  // Anything in todo/ or mess/ is found again at start (queue-layout, "Duplicate
  // guarantee"): todo/ first, as it holds the newest mail.
  // A take that a crash cut between its link and its fsync (a file queued without
  // a mess/ name) left a mess/ name that may not be durable; a take trusts the
  // mess/ names it finds (Store::take), so they are made durable first.
  if (auto s = fsync_dir(store_.dirs().mess()); !s) return s.error();
  size_t todo = 0, mess = 0;
  for (bool from_todo : {true, false}) {
    auto ids = store_.list(from_todo ? store_.dirs().todo() : store_.dirs().mess());
    if (!ids) return ids.error();
    for (uint64_t id : *ids) queue_load(id, from_todo, false);
    (from_todo ? todo : mess) = ids->size();
  }
  on_commands();  // given while no queue-send ran
  int cleaned = store_.clean_tmp(tmp_max_age_s);
  next_tmp_clean_ns_ = now_ns() + tmp_clean_every_ns;
  // mess/ was just listed: the first walk for orphans comes one interval later.
  next_rescan_ns_ = now_ns() + std::max<int64_t>(1, orphan_rescan_every_ns / s_.retry_scale);
  log_info({{"event", "start"}, {"todo", todo}, {"mess", mess}, {"tmp_removed", cleaned},
            {"remote", s_.remote_available ? "yes" : "held"}, {"lspawn", lspawn_.valid() ? "yes" : "no"},
            {"retry_scale", s_.retry_scale}});
  return {};
}

void Scheduler::on_trigger() {
  char buf[4096];
  bool command = false;  // `quail queue` writes 'c' after dropping a file in queue/cmd/
  for (ssize_t n; (n = ::read(trigger_r_.get(), buf, sizeof buf)) > 0;) {
    command |= std::find(buf, buf + n, 'c') != buf + n;
  }
  if (command) on_commands();
  list_todo();
}

void Scheduler::list_todo() {
  auto ids = store_.list(store_.dirs().todo());
  if (!ids) {
    // EMFILE, EACCES...: the trigger's bytes are gone, so the new mail would wait
    // for the next injection or a restart; the listing is retried instead.
    log_error({{"event", "trigger"}, {"result", "retry"}, {"reason", ids.error().reason}});
    relist_todo_ = true;
    if (load_retry_ns_ == 0) load_retry_ns_ = now_ns() + std::max<int64_t>(1, retry_unit_ns / s_.retry_scale);
    return;
  }
  for (uint64_t id : *ids) queue_load(id, true, true);
}

bool Scheduler::on_signals() {
  bool child = false;
  signalfd_siginfo si;
  while (::read(signals_.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    switch (si.ssi_signo) {
      case SIGCHLD:
        child = true;
        break;
      case SIGHUP:
        reload();
        break;
      case SIGTERM:
      case SIGINT:
        if (!stopping_) {
          stopping_ = true;
          log_info({{"event", "stopping"}, {"running", running_.size() + spawned_.size() + runs_.size()}});
          drop_ready();
          retire_runs();
        }
        break;
      default:
        break;
    }
  }
  return child;
}

void Scheduler::reap() {
  for (;;) {
    int w = 0;
    pid_t pid = ::waitpid(-1, &w, WNOHANG);
    if (pid <= 0) return;
    auto it = running_.find(pid);
    if (it == running_.end()) {
      run_exited(pid, decode_status(w));
      continue;
    }
    Attempt a = std::move(it->second);
    running_.erase(it);
    // The child is gone, so its report is all in the pipe (unless a grandchild
    // holds the pipe open: what is there now is what counts).
    drain_output(a);
    a.out.reset();
    finish(a, decode_status(w));
  }
}

int Scheduler::poll_timeout(int64_t now) const {
  if (stopping_) return -1;
  if (!fresh_.empty() || !backlog_.empty() || walk_) return 0;
  int64_t until = std::min(next_tmp_clean_ns_, next_rescan_ns_);
  if (!heap_.empty()) until = std::min(until, heap_.top().when);
  until = std::min(until, next_run_expiry());
  if (load_retry_ns_ != 0) until = std::min(until, load_retry_ns_);
  int64_t wait = std::clamp<int64_t>(until - now, 0, max_sleep_ns);
  return static_cast<int>((wait + ns_per_ms - 1) / ns_per_ms);
}

int Scheduler::run() {
  std::vector<pollfd> fds;
  std::vector<pid_t> owners;
  for (;;) {
    if (stopping_ && running_.empty() && spawned_.empty() && runs_.empty()) break;
    start_deliveries();
    fds.clear();
    owners.clear();
    fds.push_back({signals_.get(), POLLIN, 0});
    // Stopping, new mail waits in todo/ for the next start.
    fds.push_back({stopping_ ? -1 : trigger_r_.get(), POLLIN, 0});
    fds.push_back({lspawn_.valid() ? lspawn_.get() : -1, POLLIN, 0});
    for (auto& [pid, a] : running_) {
      if (!a.out.valid() || a.eof) continue;
      fds.push_back({a.out.get(), POLLIN, 0});
      owners.push_back(pid);
    }
    const size_t first_run = fds.size();
    for (auto& [pid, run] : runs_) {
      if (!run.out.valid() || run.eof) continue;
      fds.push_back({run.out.get(), POLLIN, 0});
      owners.push_back(pid);
    }
    int n = ::poll(fds.data(), fds.size(), poll_timeout(now_ns()));
    if (n < 0 && errno != EINTR) {
      log_error({{"event", "poll"}, {"reason", sys_error(ErrorKind::temporary, "poll").reason}});
      return 111;
    }
    if (n > 0) {
      for (size_t i = 3; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        if (i >= first_run) {
          // A finished report may hand the run its next job: runs_ changes only in reap.
          auto it = runs_.find(owners[i - 3]);
          if (it != runs_.end()) on_run_output(it->second);
          continue;
        }
        auto it = running_.find(owners[i - 3]);
        if (it != running_.end()) drain_output(it->second);
      }
      bool child = fds[0].revents != 0 && on_signals();
      if (fds[1].revents != 0) on_trigger();
      if (fds[2].revents != 0 && lspawn_.valid()) on_lspawn();
      if (child) reap();
    }
    int64_t now = now_ns();
    expire_runs(now);
    if (!stopping_) {
      run_due(now);
      retry_loads(now);
      load_some();
      rescan(now);
      if (now >= next_tmp_clean_ns_) {
        store_.clean_tmp(tmp_max_age_s);
        next_tmp_clean_ns_ = now + tmp_clean_every_ns;
      }
    }
  }
  close_lspawn();
  log_info({{"event", "stop"}, {"queued", messages_.size()}});
  return exit_code_;
}

}  // namespace quail
