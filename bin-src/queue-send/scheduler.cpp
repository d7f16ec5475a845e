// The scheduler's message logic: loading, the retry heap, delivery slots, and
// recording outcomes as queue-layout/README.md requires (D/F durable before they
// are forgotten; the unlink of mess/<id> as the record of a one-pass message).
#include "scheduler.hpp"

#include <algorithm>
#include <climits>
#include <ctime>
#include <map>
#include <sys/stat.h>

#include "address.hpp"
#include "bounce.hpp"
#include "bouncer.hpp"
#include "log.hpp"
#include "queue_stat.hpp"
#include "remote_job.hpp"

namespace quail {

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

namespace {
constexpr int64_t ns_per_s = 1000000000;
constexpr size_t fresh_batch = 256;   // trigger-found messages taken per loop turn
constexpr size_t backlog_batch = 32;  // start-up backlog read per loop turn

std::string domain_of(std::string_view address) {
  size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : lowercase(address.substr(at + 1));
}
}  // namespace

namespace {
// The ctime of dir/<id> in ns, or -1 when it cannot be stat'ed.
int64_t ctime_ns(const std::string& dir, uint64_t id) {
  struct stat st;
  if (::stat((dir + "/" + std::to_string(id)).c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
}
}  // namespace

void Scheduler::queue_load(uint64_t id, bool from_todo, bool fresh, bool orphan) {
  if (auto c = corrupt_.find(id); c != corrupt_.end()) {
    const std::string& dir = from_todo ? store_.dirs().todo() : store_.dirs().mess();
    if (ctime_ns(dir, id) == c->second) return;  // the same file that did not parse
    corrupt_.erase(c);
  }
  auto [k, inserted] = known_.emplace(id, from_todo ? Origin::todo : Origin::mess);
  if (!inserted) {
    if (from_todo) todo_name_of_known(id, k->second);
    return;
  }
  if (from_todo && !rescued_.empty() && todo_name_of_rescued(id)) {
    known_.erase(id);
    return;
  }
  (fresh ? fresh_ : backlog_).push_back({id, from_todo, orphan});
}

void Scheduler::load_some() {
  for (size_t i = 0; i < fresh_batch && !fresh_.empty(); ++i) {
    Pending p = fresh_.front();
    fresh_.pop_front();
    load_one(p);
  }
  for (size_t i = 0; i < backlog_batch && !backlog_.empty() && fresh_.empty(); ++i) {
    Pending p = backlog_.front();
    backlog_.pop_front();
    load_one(p);
  }
}

void Scheduler::load_one(const Pending& p) {
  auto m = store_.load(p.id, p.from_todo, p.from_todo || p.orphan);
  if (!m) {
    // A queue file's name under queue/, for a line about a file without a known id.
    const std::string where = (p.from_todo ? "todo/" : "mess/") + std::to_string(p.id);
    const Error& e = m.error();
    if (e.kind == ErrorKind::format) {
      // Left where it is for quail check --repair (which moves it to
      // queue/corrupt/), and not read again while it is there; a later file
      // under the same id is a new message and is loaded.
      log_error({{"file", where}, {"event", "corrupt"}, {"reason", e.reason}});
      known_.erase(p.id);
      corrupt_[p.id] = ctime_ns(p.from_todo ? store_.dirs().todo() : store_.dirs().mess(), p.id);
      return;
    }
    if (e.kind == ErrorKind::not_found) {
      known_.erase(p.id);  // gone meanwhile (quail check moved it, say)
      return;
    }
    // EACCES (a queue file another umask made), EMFILE, EIO: the message is still
    // on disk, untouched, and stays known: it is loaded again until it works,
    // never forgotten until a restart (queue-layout, "Duplicate guarantee").
    log_error({{"file", where}, {"event", "load"}, {"result", "retry"}, {"reason", e.reason}});
    load_retry_.push_back(p);
    if (load_retry_ns_ == 0) load_retry_ns_ = now_ns() + std::max<int64_t>(1, retry_unit_ns / s_.retry_scale);
    return;
  }
  // A todo/ name that came while the message waited in mess/ (its injector's
  // rename, after the walk took it or after the listing at start) goes now: the
  // message must not be loaded twice.
  auto k = known_.find(p.id);
  if (!p.from_todo && k != known_.end() && k->second == Origin::mess_and_late_todo) {
    drop_late_todo(p.id, m->id_str());
  }
  if (p.orphan) {
    m->orphan = true;
    log_warn({{"msg", m->id_str()}, {"event", "orphan"}, {"result", "taken"}, {"file", "mess/" + std::to_string(p.id)},
              {"from", "<" + m->sender + ">"}, {"rcpts", m->rcpts.size()}});
  }
  adopt(std::move(*m), p.from_todo);
}

void Scheduler::retry_loads(int64_t now) {
  if (load_retry_ns_ == 0 || now < load_retry_ns_) return;
  load_retry_ns_ = 0;
  if (relist_todo_) {
    relist_todo_ = false;
    list_todo();  // may ask for another retry
  }
  while (!load_retry_.empty()) {
    backlog_.push_back(load_retry_.front());
    load_retry_.pop_front();
  }
}

void Scheduler::adopt(Message m, bool taken) {
  if (taken) {
    log_info({{"msg", m.id_str()}, {"event", "taken"}, {"from", "<" + m.sender + ">"}, {"rcpts", m.rcpts.size()}});
  }
  int64_t now = now_ns();
  for (auto& r : m.rcpts) {
    if (r.state != RcptState::pending) continue;
    // A recipient tried before (a T record) waits for its next scheduled time;
    // one never tried, or whose T was lost in a crash, is tried now.
    if (r.last_try <= 0) {
      r.next_ns = now;
      continue;
    }
    // A T time later than now (a clock stepped back, or damage) counts as now: it
    // would otherwise hold the recipient until queuelifetime.
    int64_t expire = m.birth_ns + s_.lifetime_s * ns_per_s;
    int64_t tried = std::min(r.last_try * ns_per_s, now);
    r.next_ns = std::min(retry_at(m, r, tried), expire);
  }
  auto [it, inserted] = messages_.emplace(m.id, std::move(m));
  if (!inserted) return;
  if (it->second.hold_asked) return stow(it->second);  // queued on hold: straight to hold/
  wake(it->second);
}

void Scheduler::wake(Message& m) {
  int64_t t = INT64_MAX;
  for (const auto& r : m.rcpts) {
    if (r.state == RcptState::pending) t = std::min(t, r.next_ns);
  }
  // A message whose recipients are all final, or that owes a notice or a record
  // its journal could not take, needs a settle: now, or when its retry is due.
  if (m.final() || m.owes_bounce() || m.owes_record()) t = std::min(t, m.bounce_retry_ns);
  if (t == INT64_MAX) {
    m.wake_ns = 0;  // only held recipients: nothing to do until HUP
    return;
  }
  if (t <= 0) t = 1;
  m.wake_ns = t;
  heap_.push({t, m.id});
}

void Scheduler::run_due(int64_t now) {
  while (!heap_.empty() && heap_.top().when <= now) {
    Wake w = heap_.top();
    heap_.pop();
    auto it = messages_.find(w.id);
    if (it == messages_.end() || it->second.wake_ns != w.when) continue;  // stale entry
    it->second.wake_ns = 0;
    dispatch(it->second, now);
  }
}

void Scheduler::dispatch(Message& m, int64_t now) {
  // One remote run per domain: with VERP, remote-deliver computes each recipient's
  // return path itself and sends them all over one connection.
  std::map<std::string, Job> remote;  // domain -> job
  const std::string id = m.id_str();
  if (m.hold_asked) return;  // quail queue hold: it leaves for hold/ when its pass ends
  for (uint32_t n = 0; n < m.rcpts.size(); ++n) {
    Rcpt& r = m.rcpts[n];
    if (r.state != RcptState::pending || r.next_ns > now) continue;
    bool local = is_local_address(s_, r.address);
    if (!local && !s_.remote_available) {
      r.state = RcptState::held;  // never bounced, never expired: re-checked on HUP
      held_.insert(m.id);
      log_info({{"msg", id}, {"event", "held"}, {"to", "<" + r.address + ">"},
                {"reason", "no remote-deliver program is installed"}});
      continue;
    }
    std::string domain = local ? std::string() : domain_of(r.address);
    if (!local) {
      // A backed-off destination takes no slot: its recipients wait for the
      // back-off to end (or for their expiry, which gets one more attempt).
      int64_t expire = m.birth_ns + s_.lifetime_s * ns_per_s;
      if (int64_t until = backoff_until(domain, now); until > now && now < expire) {
        r.next_ns = std::min(until, expire);
        continue;
      }
    }
    r.state = RcptState::queued;
    ++m.active;
    if (local) {
      ready_local_.push_back({m.id, {n}, "", verp_return_path(m.sender, r.address)});
    } else {
      Job& j = remote[domain];
      j.msg = m.id;
      j.domain = domain;
      j.sender = m.sender;
      j.rcpts.push_back(n);
      if (j.rcpts.size() == remote_job_max_rcpts) {
        // A job's packet has room for so many; peers take 100 per transaction anyway.
        ready_remote_.push_back(std::move(j));
        remote.erase(domain);
      }
    }
  }
  for (auto& [key, job] : remote) ready_remote_.push_back(std::move(job));
  if (m.active == 0) settle(m);
}

void Scheduler::start_deliveries() {
  if (stopping_) return;
  while (!ready_local_.empty() && running_local_ < s_.concurrency_local) {
    Job j = std::move(ready_local_.front());
    ready_local_.pop_front();
    start_job(j);
  }
  start_remote(now_ns());
}

void Scheduler::start_job(Job& job) {
  Message& m = messages_.at(job.msg);
  Attempt a;
  a.dlv = next_dlv_++;
  a.msg = m.id;
  a.rcpts = job.rcpts;
  LaunchSpec spec;
  spec.program = s_.bin + "/local-deliver";
  spec.env = child_env_;
  spec.args = {std::to_string(a.dlv), std::to_string(m.length), job.sender, m.rcpts[job.rcpts[0]].address};
  Status st;
  bool via_lspawn = lspawn_.valid();
  auto fd = store_.open_message(m.id);
  if (!fd) {
    st = fd.error();
  } else if (via_lspawn) {
    st = start_via_lspawn(a, m, job, fd->get());
  } else {
    spec.message_fd = fd->get();
    st = launch(a, spec);
  }
  if (!st) {
    job_trouble(job, a.dlv, st.error());
    return;
  }
  for (uint32_t n : job.rcpts) m.rcpts[n].state = RcptState::running;
  running_local_ += 1;
  if (via_lspawn) {
    spawned_.emplace(a.dlv, std::move(a));
  } else {
    running_.emplace(a.pid, std::move(a));
  }
}

void Scheduler::job_trouble(const Job& job, uint64_t dlv, const Error& e) {
  // Our own trouble (fds, processes, a missing program): temporary, never a bounce.
  Message& m = messages_.at(job.msg);
  int64_t now = now_ns();
  for (uint32_t n : job.rcpts) {
    record(m, n, {Verdict::deferred, stat_clean_reason(e.reason) + " (#4.3.0)"}, dlv, now);
    --m.active;
  }
  if (m.active == 0) settle(m);
}

void Scheduler::finish(Attempt& a, const ExitStatus& st) {
  // A remote job's run lives on (scheduler_remote.cpp counts it); a local delivery ends here.
  if (!a.remote) running_local_ -= 1;
  int64_t now = now_ns();
  std::vector<RcptResult> results =
      a.remote ? remote_results(st, a.report, a.rcpts.size()) : std::vector<RcptResult>{local_result(st, a.report)};
  if (a.remote) domain_result(a.domain, results, now);
  auto it = messages_.find(a.msg);
  if (it == messages_.end()) return;
  Message& m = it->second;
  for (size_t i = 0; i < a.rcpts.size(); ++i) {
    record(m, a.rcpts[i], results[i], a.dlv, now);
    --m.active;
  }
  if (m.active == 0) settle(m);
}

void Scheduler::record(Message& m, uint32_t n, const RcptResult& res, uint64_t dlv, int64_t now) {
  Rcpt& r = m.rcpts[n];
  RcptResult out = res;
  if (res.verdict == Verdict::deferred && r.deleted) {
    // quail queue delete came while it was under way: this was its last attempt.
    out = {Verdict::failed, res.reason + " " + std::string(deleted_reason)};
  } else if (res.verdict == Verdict::deferred) {
    int64_t expire = m.birth_ns + s_.lifetime_s * ns_per_s;
    if (now >= expire) {
      // queuelifetime passed: the last temporary reason becomes permanent (5.4.7).
      out = {Verdict::failed, res.reason + " I'm not going to try again; this message has been in the queue too long. (#5.4.7)"};
    } else {
      r.state = RcptState::pending;
      r.next_ns = std::min(retry_at(m, r, now), expire);
      r.reason = res.reason;
      r.last_try = now / ns_per_s;
      r.t_due = true;
    }
  }
  if (out.verdict == Verdict::delivered) {
    r.state = RcptState::delivered;
    r.recorded = false;
    r.reason = out.reason;          // quoted by a success report
    r.reported = out.peer_dsn;      // the peer took NOTIFY and reports success itself
  } else if (out.verdict == Verdict::failed) {
    r.state = RcptState::failed;
    r.reason = out.reason;
    r.recorded = false;
    r.bounced = r.deleted && !r.delete_bounce;  // deleted without --bounce: no notice
    r.t_due = false;
  }
  const char* result = out.verdict == Verdict::delivered ? "delivered" : out.verdict == Verdict::failed ? "failed" : "deferred";
  if (out.peer_dsn) {
    // The peer took the DSN parameters: any success report is the peer's to send.
    log_info({{"msg", m.id_str()}, {"dlv", dlv}, {"event", "delivery"}, {"to", "<" + r.address + ">"},
              {"result", result}, {"reason", out.reason}, {"dsn", "peer"}});
    return;
  }
  log_info({{"msg", m.id_str()}, {"dlv", dlv}, {"event", "delivery"}, {"to", "<" + r.address + ">"}, {"result", result},
            {"reason", out.reason}});
}

}  // namespace quail
