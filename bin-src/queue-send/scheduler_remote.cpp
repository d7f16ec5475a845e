// Kept remote-deliver runs (man/queue-send.8, "KEPT REMOTE RUNS"): a run is
// started for a domain with its first job and takes the domain's next jobs one at
// a time over its job socket (lib/remote_job), over the connection it keeps, so
// many messages for one domain pay one process, one route lookup and one TCP and
// TLS handshake. One job is under way per run at most: when a run dies, only that
// job's recipients are deferred; every earlier job was reported and recorded.
#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/socket.h>

#include "log.hpp"
#include "remote_job.hpp"
#include "scheduler.hpp"

namespace quail {
namespace {
constexpr int64_t ns_per_s = 1000000000;
// A run with no job closes its connection after this: peers drop idle clients
// after a minute or more, and an idle connection holds a slot of theirs.
constexpr int64_t run_idle_ns = 5 * ns_per_s;
// A run takes no new job after this, so routes, DNS answers and control files
// are read again at least this often.
constexpr int64_t run_max_age_ns = 300 * ns_per_s;
}  // namespace

void Scheduler::start_remote(int64_t now) {
  while (!ready_remote_.empty()) {
    Job& j = ready_remote_.front();
    Domain& d = domains_[j.domain];
    if (d.backoff_until > now) {
      // Backed off after this job was queued: its recipients go back to waiting.
      Job job = std::move(j);
      ready_remote_.pop_front();
      return_job(job, d.backoff_until);
      continue;
    }
    if (!d.idle.empty()) {
      auto it = runs_.find(d.idle.back());
      Job job = std::move(j);
      ready_remote_.pop_front();
      if (it == runs_.end() || !hand(it->second, job)) ready_remote_.push_front(std::move(job));
      continue;
    }
    if (d.running >= s_.concurrency_per_domain || (d.running > 0 && running_remote_ >= s_.concurrency_remote)) {
      // The domain's runs take it when one of them is free.
      d.waiting.push_back(std::move(j));
      ready_remote_.pop_front();
      continue;
    }
    if (running_remote_ >= s_.concurrency_remote) {
      // Every slot has a run: an idle one of another domain gives its slot up
      // (it is free once the run has said QUIT and exited).
      retire_one_idle();
      return;
    }
    Job job = std::move(j);
    ready_remote_.pop_front();
    start_run(job);
  }
}

bool Scheduler::start_run(Job& job) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    job_trouble(job, next_dlv_++, sys_error(ErrorKind::temporary, "create a job socket"));
    return false;
  }
  Fd ours(sv[0]), theirs(sv[1]);
  Attempt a;  // launch's pid and pipe
  LaunchSpec spec;
  spec.program = s_.bin + "/remote-deliver";
  spec.env = child_env_;
  spec.args = {job.domain};
  spec.message_fd = theirs.get();
  if (auto st = launch(a, spec); !st) {
    job_trouble(job, next_dlv_++, st.error());
    return false;
  }
  int64_t now = now_ns();
  RemoteRun& run = runs_[a.pid];
  run.pid = a.pid;
  run.domain = job.domain;
  run.sock = std::move(ours);
  run.out = std::move(a.out);
  run.started_ns = now;
  run.idle_since_ns = now;
  ++running_remote_;
  Domain& d = domains_[job.domain];
  ++d.running;
  d.idle.push_back(run.pid);
  if (!hand(run, job)) ready_remote_.push_front(std::move(job));
  return true;
}

bool Scheduler::hand(RemoteRun& run, Job& job) {
  Domain& d = domains_[run.domain];
  d.idle.erase(std::remove(d.idle.begin(), d.idle.end(), run.pid), d.idle.end());
  Message& m = messages_.at(job.msg);
  Attempt a;
  a.dlv = next_dlv_++;
  a.msg = m.id;
  a.remote = true;
  a.domain = job.domain;
  a.rcpts = job.rcpts;
  auto fd = store_.open_message(m.id);
  if (!fd) {
    d.idle.push_back(run.pid);
    job_trouble(job, a.dlv, fd.error());
    return true;
  }
  if (auto st = send_job(run.sock.get(), {a.dlv, m.length, job.rcpts}, fd->get()); !st) {
    // The run is gone or stuck: it ends, and the job goes to another run.
    log_warn({{"event", "run"}, {"domain", run.domain}, {"pid", run.pid}, {"reason", st.error().reason}});
    retire(run);
    return false;
  }
  for (uint32_t n : job.rcpts) m.rcpts[n].state = RcptState::running;
  run.busy = true;
  run.job = std::move(a);
  ++run.jobs;
  return true;
}

void Scheduler::on_run_output(RemoteRun& run) {
  char buf[8192];
  while (run.out.valid()) {
    ssize_t n = ::read(run.out.get(), buf, sizeof buf);
    if (n > 0) {
      // A report longer than a megabyte is not one: it stays short, and the job is deferred.
      run.buf.append(buf, std::min(static_cast<size_t>(n), (size_t{1} << 20) - std::min(run.buf.size(), size_t{1} << 20)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) run.eof = true;
    break;  // EAGAIN: nothing more now
  }
  if (!run.busy) return;
  size_t len = remote_report_length(run.buf, run.job.rcpts.size());
  if (len == 0) return;
  // One whole report: the job is done whatever the run does next.
  Attempt done = std::move(run.job);
  run.job = Attempt{};
  done.report = run.buf.substr(0, len);
  run.buf.erase(0, len);
  run.busy = false;
  finish(done, ExitStatus{});
  run_idle(run, now_ns());
}

void Scheduler::run_idle(RemoteRun& run, int64_t now) {
  run.idle_since_ns = now;
  run.buf.clear();
  Domain& d = domains_[run.domain];
  bool backed_off = d.backoff_until > now;
  if (!run.sock.valid()) return;
  if (stopping_ || backed_off || run.stale || now - run.started_ns >= run_max_age_ns) {
    retire(run);
    return;
  }
  d.idle.push_back(run.pid);
  if (!d.waiting.empty()) {
    Job job = std::move(d.waiting.front());
    d.waiting.pop_front();
    if (!hand(run, job)) ready_remote_.push_front(std::move(job));
  }
}

void Scheduler::retire(RemoteRun& run) {
  if (!run.sock.valid()) return;
  run.sock.reset();  // end of its job stream: it sends QUIT and exits
  auto it = domains_.find(run.domain);
  if (it == domains_.end()) return;
  auto& idle = it->second.idle;
  idle.erase(std::remove(idle.begin(), idle.end(), run.pid), idle.end());
}

void Scheduler::retire_runs() {
  for (auto& [pid, run] : runs_) {
    run.stale = true;  // a busy one ends after its job
    if (!run.busy) retire(run);
  }
}

bool Scheduler::retire_one_idle() {
  RemoteRun* oldest = nullptr;
  for (auto& [pid, run] : runs_) {
    if (!run.sock.valid()) return false;  // one is closing already: its slot is coming
    if (!run.busy && (!oldest || run.idle_since_ns < oldest->idle_since_ns)) oldest = &run;
  }
  if (!oldest) return false;
  retire(*oldest);
  return true;
}

void Scheduler::run_exited(pid_t pid, const ExitStatus& st) {
  auto it = runs_.find(pid);
  if (it == runs_.end()) return;
  RemoteRun& run = it->second;
  retire(run);  // so the report below hands it no new job
  // Its last report may still be in the pipe (the run wrote it and exited).
  if (run.out.valid()) on_run_output(run);
  if (run.busy) {
    // It died in the middle of a job: what it reported so far is short, so
    // remote_results defers every recipient (nothing lost, retried later).
    Attempt a = std::move(run.job);
    a.report = std::move(run.buf);
    run.busy = false;
    finish(a, st);
  }
  std::string domain = run.domain;
  runs_.erase(it);
  --running_remote_;
  run_ended(domain);
}

void Scheduler::expire_runs(int64_t now) {
  for (auto& [pid, run] : runs_) {
    if (!run.busy && run.sock.valid() && now - run.idle_since_ns >= run_idle_ns) retire(run);
  }
}

int64_t Scheduler::next_run_expiry() const {
  int64_t t = INT64_MAX;
  for (const auto& [pid, run] : runs_) {
    if (!run.busy && run.sock.valid()) t = std::min(t, run.idle_since_ns + run_idle_ns);
  }
  return t;
}

}  // namespace quail
