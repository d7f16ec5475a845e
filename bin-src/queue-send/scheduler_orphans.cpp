// Orphans: the walk of mess/ every few minutes for messages a killed queue-inject
// left there without a todo/ name, and todo/ names that come after their message
// was taken from mess/ (queue-layout/README.md, "Orphans"; man/queue-send.8).
#include <algorithm>

#include "log.hpp"
#include "scheduler.hpp"

namespace quail {
namespace {
// Names read per loop turn: 1.4 ms with 100,000 messages queued (ext4, warm
// dentries; 31 ms a whole walk), so events wait no longer than for a batch of loads.
constexpr size_t walk_slice = 4096;
}  // namespace

void Scheduler::rescan(int64_t now) {
  if (!walk_) {
    if (now < next_rescan_ns_) return;
    next_rescan_ns_ = now + std::max<int64_t>(1, orphan_rescan_every_ns / s_.retry_scale);
    auto w = MessWalk::open(store_.dirs().mess());
    if (!w) {
      log_error({{"event", "orphan"}, {"result", "retry"}, {"reason", w.error().reason}});
      return;
    }
    walk_.emplace(std::move(*w));
  }
  suspects_.clear();
  bool more = walk_->step(walk_slice, [this](uint64_t id) { return known_.contains(id); }, suspects_);
  if (!suspects_.empty()) judge_suspects(now);
  if (more) return;
  walk_.reset();
  if (rescued_.empty()) return;
  // Only a tmp/ name of its file can still be renamed into todo/.
  TmpNames tmp = read_tmp_names(store_.dirs().tmp());
  if (tmp.readable) std::erase_if(rescued_, [&](const auto& r) { return !tmp.writer_alive.contains(r.first); });
}

void Scheduler::judge_suspects(int64_t now) {
  const int64_t min_age = std::max<int64_t>(1, orphan_min_age_ns / s_.retry_scale);
  // tmp/ is read at most once a slice, and only for a file old enough to need it.
  std::optional<TmpNames> tmp;
  auto tmp_names = [&]() -> const TmpNames& {
    if (!tmp) tmp = read_tmp_names(store_.dirs().tmp());
    return *tmp;
  };
  for (uint64_t id : suspects_) {
    OrphanFacts f = walk_->facts(id, store_.dirs().todo(), tmp_names, now, min_age);
    if (judge_orphan(f, now, min_age) == OrphanVerdict::orphan) queue_load(id, false, true, true);
  }
}

void Scheduler::todo_name_of_known(uint64_t id, Origin& origin) {
  auto it = messages_.find(id);
  if (it != messages_.end()) {
    drop_late_todo(id, it->second.id_str());
  } else if (origin == Origin::mess) {
    origin = Origin::mess_and_late_todo;  // dropped when it is loaded
  }
}

bool Scheduler::todo_name_of_rescued(uint64_t id) {
  auto r = rescued_.find(id);
  if (r == rescued_.end()) return false;
  auto birth = store_.todo_birth(id);
  if (!birth) return false;  // loaded as any file in todo/ is, and judged there
  if (*birth != r->second) {
    rescued_.erase(r);  // another message in the same file: the old one's name is gone
    return false;
  }
  const std::string msg = message_id(id, r->second);
  if (!store_.unlink_todo(id)) {
    // Kept in rescued_, so the next listing of todo/ tries again instead of loading it.
    log_error({{"msg", msg}, {"event", "orphan"}, {"result", "late todo"},
               {"reason", sys_error(ErrorKind::temporary, "unlink todo/" + std::to_string(id)).reason}});
    return true;
  }
  rescued_.erase(r);
  log_info({{"msg", msg}, {"event", "orphan"}, {"result", "late todo"}});
  return true;
}

void Scheduler::drop_late_todo(uint64_t id, const std::string& msg) {
  if (store_.drop_todo_name(id)) log_info({{"msg", msg}, {"event", "orphan"}, {"result", "late todo"}});
}

}  // namespace quail
