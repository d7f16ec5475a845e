// The end of a pass over one message: record what became final, queue the notices
// it owes, and either leave the queue (S4 -> S5) or wait for the next retry.
// Spec: queue-layout/README.md, "queue-send (S2 -> S5)" and "Duplicate guarantee".
#include <algorithm>
#include <vector>

#include "bounce.hpp"
#include "bouncer.hpp"
#include "log.hpp"
#include "queue_stat.hpp"
#include "scheduler.hpp"

namespace quail {
namespace {
bool owes_failure_notice(const Message& m) {
  for (const auto& r : m.rcpts) {
    if (r.state == RcptState::failed && !r.bounced) return true;
  }
  return false;
}
}  // namespace

void Scheduler::settle(Message& m) {
  int64_t now = now_ns();
  if (m.final()) {
    if (m.owes_bounce()) {
      // A D that only memory holds would be delivered again if we died between
      // queuing the notice and the unlink: make it durable first (notices are rare).
      bool loose_d = false;
      for (const auto& r : m.rcpts) loose_d |= r.state == RcptState::delivered && !r.recorded;
      if (loose_d && !flush_journal(m)) {
        // No notice before the D is durable: try both again later.
        m.bounce_retry_ns = now + std::max<int64_t>(1, retry_unit_ns / s_.retry_scale);
        wake(m);
        return;
      }
      bool owed_failure = owes_failure_notice(m);
      std::string records = notices(m, now);
      if (m.owes_bounce()) {
        // A notice could not be queued: the message stays in S3/S4 until it is;
        // what was queued is recorded so it is not sent twice.
        bool recorded = flush_journal(m);
        if (recorded) append_notice_records(m, owed_failure && !owes_failure_notice(m), records);
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
    if (m.orphan) rescued_[id] = m.birth_ns;
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
  } else {
    bool delay_due = false;
    for (const auto& r : m.rcpts) delay_due |= delay_notice_due(s_, m.birth_ns, r, now);
    if (m.owes_bounce() || delay_due) {
      bool owed_failure = owes_failure_notice(m);
      std::string records = notices(m, now);
      // B covers every F before it, and R and W follow the D they report on (W its
      // T), so they are written only when those are on disk.
      append_notice_records(m, owed_failure && !owes_failure_notice(m), records);
    }
  }
  if (m.hold_asked) {
    stow(m);  // erases m
    return;
  }
  wake(m);
}

void Scheduler::append_notice_records(Message& m, bool b, const std::string& records) {
  if (!b && records.empty()) return;
  // R and W are fdatasync'ed, so a notice is sent once also across a crash, save
  // the window between queuing it and this record (queue-layout, "Duplicate
  // guarantee"); a B alone is not (a lost B means one more notice).
  if (auto st = store_.append_journal(m, (b ? stat_bounced_record() : "") + records, !records.empty()); !st) {
    log_error({{"msg", m.id_str()}, {"event", "journal"}, {"reason", st.error().reason}});
  }
}

bool Scheduler::flush_journal(Message& m) {
  std::string records;
  bool sync = false;
  for (size_t n = 0; n < m.rcpts.size(); ++n) {
    const Rcpt& r = m.rcpts[n];
    if (r.recorded) continue;
    if (r.state == RcptState::delivered) records += stat_delivered_record(n);
    // A peer that took the DSN parameters reports success itself: R says none is owed.
    if (r.state == RcptState::delivered && r.reported && (r.notify & notify_success)) {
      records += stat_reported_record(n);
    }
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

std::string Scheduler::notices(Message& m, int64_t now) {
  std::string reason, records;
  if (send_notices(s_, store_, m, now, records, reason) == BounceOutcome::deferred) {
    m.bounce_retry_ns = now + std::max<int64_t>(1, retry_unit_ns / s_.retry_scale);
  } else {
    m.bounce_retry_ns = 0;
  }
  return records;
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
  for (auto& [name, d] : domains_) {
    for (Job& j : d.waiting) ready_remote_.push_back(std::move(j));
    d.waiting.clear();
  }
  for (auto* q : {&ready_local_, &ready_remote_}) {
    std::deque<Job> jobs = std::move(*q);
    q->clear();
    for (const Job& j : jobs) {
      auto it = messages_.find(j.msg);
      if (it == messages_.end()) continue;  // held (stowed) by an earlier settle here
      Message& m = it->second;
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
  // Kept remote-deliver runs read the control files they had: new runs read the new ones.
  retire_runs();
  unhold();
  // An administrator who fixed what kept a message from loading need not wait.
  if (load_retry_ns_ != 0) load_retry_ns_ = now_ns();
}

}  // namespace quail
