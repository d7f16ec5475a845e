// The end of a pass over one message: record what became final, queue the notices
// it owes, and either leave the queue (S4 -> S5) or wait for the next retry.
// Spec: queue-layout/README.md, "queue-send (S2 -> S5)" and "Duplicate guarantee".
#include <algorithm>
#include <vector>

#include "bouncer.hpp"
#include "log.hpp"
#include "queue_stat.hpp"
#include "scheduler.hpp"

namespace quail {

void Scheduler::settle(Message& m) {
  int64_t now = now_ns();
  if (m.final()) {
    if (m.owes_bounce()) {
      // A D that only memory holds would be delivered again if we died between
      // queuing the notice and the unlink: make it durable first (bounces are rare).
      bool loose_d = false;
      for (const auto& r : m.rcpts) loose_d |= r.state == RcptState::delivered && !r.recorded;
      if (loose_d && !flush_journal(m)) {
        // No notice before the D is durable: try both again later.
        m.bounce_retry_ns = now + std::max<int64_t>(1, retry_unit_ns / s_.retry_scale);
        wake(m);
        return;
      }
      bounce(m, now);
      if (m.owes_bounce()) {
        // The notice could not be queued: the message stays in S3/S4 until it is.
        flush_journal(m);
        wake(m);
        return;
      }
    }
    // S4 -> S5. When the message finished in this pass without a journal, this
    // unlink is the record of its outcomes (queue-layout, "Durability").
    const uint64_t id = m.id;
    if (auto st = store_.remove(m); !st) {
      log_error({{"msg", m.id_str()}, {"event", "done"}, {"result", "error"}, {"reason", st.error().reason}});
    } else {
      log_info({{"msg", m.id_str()}, {"event", "done"}});
    }
    held_.erase(id);
    known_.erase(id);
    messages_.erase(id);
    return;
  }
  // Some recipients wait for a retry (or are held): the outcomes of this pass are
  // about to be forgotten as delivery state, so D/F go to disk now.
  bool recorded = flush_journal(m);
  if (!recorded) {
    // The D/F records stay in memory and owed: a settle comes back for them soon,
    // not only at the next retry of a pending recipient, and no notice goes out
    // before its records are on disk.
    m.bounce_retry_ns = now + std::max<int64_t>(1, retry_unit_ns / s_.retry_scale);
  } else if (m.owes_bounce()) {
    bounce(m, now);
    // B covers every F before it, so it is written only when those are on disk.
    // It is not fdatasync'ed: a lost B means one more notice, never a lost one.
    if (!m.owes_bounce() && recorded) {
      if (auto st = store_.append_journal(m, stat_bounced_record(), false); !st) {
        log_error({{"msg", m.id_str()}, {"event", "journal"}, {"reason", st.error().reason}});
      }
    }
  }
  wake(m);
}

bool Scheduler::flush_journal(Message& m) {
  std::string records;
  bool sync = false;
  for (size_t n = 0; n < m.rcpts.size(); ++n) {
    const Rcpt& r = m.rcpts[n];
    if (r.recorded) continue;
    if (r.state == RcptState::delivered) records += stat_delivered_record(n);
    if (r.state == RcptState::failed) records += stat_failed_record(n, r.reason);
    sync |= r.state == RcptState::delivered || r.state == RcptState::failed;
  }
  for (size_t n = 0; n < m.rcpts.size(); ++n) {
    const Rcpt& r = m.rcpts[n];
    // T is advisory: it only spares a restart an early retry.
    if (r.state == RcptState::pending && r.t_due) records += stat_temporary_record(n, r.last_try, r.reason);
  }
  if (records.empty()) return true;
  if (auto st = store_.append_journal(m, records, sync); !st) {
    // The outcomes stay in memory and are written at the next settle.
    log_error({{"msg", m.id_str()}, {"event", "journal"}, {"reason", st.error().reason}});
    return false;
  }
  for (auto& r : m.rcpts) {
    if (r.state == RcptState::delivered || r.state == RcptState::failed) r.recorded = true;
    r.t_due = false;
  }
  return true;
}

void Scheduler::bounce(Message& m, int64_t now) {
  std::string reason;
  if (send_bounces(s_, store_, m, reason) == BounceOutcome::deferred) {
    m.bounce_retry_ns = now + std::max<int64_t>(1, retry_unit_ns / s_.retry_scale);
    return;
  }
  m.bounce_retry_ns = 0;
  for (auto& r : m.rcpts) {
    if (r.state == RcptState::failed) r.bounced = true;
  }
}

void Scheduler::unhold() {
  if (stopping_) return;
  int64_t now = now_ns();
  std::vector<uint64_t> released;
  for (uint64_t id : held_) {
    auto it = messages_.find(id);
    if (it == messages_.end()) {
      released.push_back(id);
      continue;
    }
    Message& m = it->second;
    bool still = false;
    for (auto& r : m.rcpts) {
      if (r.state != RcptState::held) continue;
      if (s_.remote_available || is_local_address(s_, r.address)) {
        r.state = RcptState::pending;
        r.next_ns = now;
      } else {
        still = true;
      }
    }
    if (!still) released.push_back(id);
    if (m.active == 0) wake(m);
  }
  for (uint64_t id : released) held_.erase(id);
}

void Scheduler::drop_ready() {
  // TERM: jobs not started go back to waiting; their messages' passes may end here.
  for (auto* q : {&ready_local_, &ready_remote_}) {
    std::deque<Job> jobs = std::move(*q);
    q->clear();
    for (const Job& j : jobs) {
      Message& m = messages_.at(j.msg);
      for (uint32_t n : j.rcpts) {
        m.rcpts[n].state = RcptState::pending;
        --m.active;
      }
      if (m.active == 0) settle(m);
    }
  }
}

void Scheduler::reload() {
  auto ns = load_settings(s_.root);
  if (!ns) {
    log_error({{"event", "reload"}, {"result", "kept old settings"}, {"reason", ns.error().reason}});
    return;
  }
  s_ = std::move(*ns);
  log_info({{"event", "reload"}, {"remote", s_.remote_available ? "yes" : "held"},
            {"concurrencylocal", s_.concurrency_local}, {"concurrencyremote", s_.concurrency_remote}});
  unhold();
  // An administrator who fixed what kept a message from loading need not wait.
  if (load_retry_ns_ != 0) load_retry_ns_ = now_ns();
}

}  // namespace quail
