// Remote destinations: the retry schedule of remote recipients, a limit on runs
// per domain (control/concurrencyperdomain), and a back-off for a domain whose
// jobs keep failing as a whole, so a dead destination does not take every
// remote slot. See man/queue-send.8, "RETRY SCHEDULE". State lives only in
// memory: after a restart a dead domain costs one more round of attempts.
#include <algorithm>

#include "log.hpp"
#include "queue_stat.hpp"
#include "scheduler.hpp"

namespace quail {
namespace {
constexpr int64_t ns_per_s = 1000000000;
constexpr int64_t backoff_max_ns = 3600 * ns_per_s;  // a dead domain is probed at least hourly
}  // namespace

int64_t Scheduler::retry_at(const Message& m, const Rcpt& r, int64_t now) const {
  if (is_local_address(s_, r.address)) return next_retry_ns(m.birth_ns, now, s_.retry_scale);
  // Remote peers are retried on a longer unit (qmail's remote schedule is 400 s):
  // a remote temporary failure is usually a peer that needs minutes, not seconds.
  int64_t unit = std::max<int64_t>(1, s_.retry_unit_remote_s * ns_per_s / s_.retry_scale);
  return next_retry_unit_ns(m.birth_ns, now, unit);
}

int64_t Scheduler::backoff_until(const std::string& domain, int64_t now) const {
  auto it = domains_.find(domain);
  return it == domains_.end() || it->second.backoff_until <= now ? 0 : it->second.backoff_until;
}

void Scheduler::return_job(const Job& job, int64_t until) {
  Message& m = messages_.at(job.msg);
  int64_t expire = m.birth_ns + s_.lifetime_s * ns_per_s;
  for (uint32_t n : job.rcpts) {
    m.rcpts[n].state = RcptState::pending;
    m.rcpts[n].next_ns = std::min(until, expire);
    --m.active;
  }
  if (m.active == 0) settle(m);
}

bool Scheduler::domain_result(const std::string& domain, const std::vector<RcptResult>& results, int64_t now) {
  auto it = domains_.find(domain);
  if (it == domains_.end()) return false;
  Domain& d = it->second;
  // Every recipient deferred: the destination (or the way to it) is down, not
  // one mailbox. Any delivered or failed recipient shows it answers.
  bool down = std::all_of(results.begin(), results.end(), [](const RcptResult& r) { return r.verdict == Verdict::deferred; });
  if (down) {
    ++d.failures;
    int64_t base = std::max<int64_t>(1, retry_unit_ns / s_.retry_scale);
    int64_t cap = std::max<int64_t>(1, backoff_max_ns / s_.retry_scale);
    int shift = std::min(d.failures - 1, 20);
    d.backoff_until = now + std::min(cap, base << shift);
    log_info({{"event", "backoff"}, {"domain", domain}, {"failures", d.failures},
              {"seconds", (d.backoff_until - now + ns_per_s - 1) / ns_per_s}});
  } else {
    d.failures = 0;
    d.backoff_until = 0;
  }
  if (d.backoff_until <= now) return false;
  // Its waiting jobs return to their recipients' schedules through start_remote.
  while (!d.waiting.empty()) {
    ready_remote_.push_front(std::move(d.waiting.back()));
    d.waiting.pop_back();
  }
  return true;
}

void Scheduler::run_ended(const std::string& domain) {
  auto it = domains_.find(domain);
  if (it == domains_.end()) return;
  Domain& d = it->second;
  --d.running;
  if (!d.waiting.empty()) {
    // The slot this run held goes to the domain's next job, ahead of the queue.
    ready_remote_.push_front(std::move(d.waiting.front()));
    d.waiting.pop_front();
  }
  if (d.running == 0 && d.failures == 0 && d.waiting.empty()) domains_.erase(it);
}

}  // namespace quail
