// The fork server's workers per uid (system installs): see man/local-spawn.8,
// "Workers". A request whose user the tables settle (uid_route.hpp) goes to an
// idle worker that already is that user, or to one forked for it; anything
// else to a forked child as before. Idle workers are few and short-lived.
#include <time.h>

#include "clock.hpp"
#include "group_file.hpp"
#include "server.hpp"
#include "srs_key.hpp"
#include "uid_route.hpp"

namespace quail {
namespace {

// Idle workers kept, in all and of one uid (concurrencylocal's default is 20),
// and how long one is kept without a request.
constexpr size_t max_idle_uid_workers = 32;
constexpr size_t max_idle_per_uid = 20;
constexpr long long idle_ms = 2000;

}  // namespace

bool Server::dispatch_to_uid(const LspawnRequest& req, int message_fd) {
  auto who = worker_identity(s_.root, req.recipient);
  if (!who) return false;
  // A stat each: the key and the group file change seldom, a worker's own
  // uid, gid and login are compared by dispatch.
  std::string key = file_signature(srs_key_path(s_.root));
  std::string groups = file_signature(system_group_path);
  bool changed = key != generation_ || groups != group_signature_;
  generation_ = std::move(key);
  if (groups != group_signature_) {
    group_signature_ = std::move(groups);
    regroup_workers();
  }
  if (changed) end_idle_workers();
  dispatch(req, message_fd, &*who);
  return true;
}

void Server::regroup_workers() {
  for (Worker& w : workers_) {
    if (!w.who || w.generation.empty()) continue;
    auto g = worker_groups(*w.who);
    if (!g || *g != w.groups) w.generation.clear();  // no request reaches it again
  }
}

bool Server::keep_idle_uid(Worker& w) {
  if (w.generation != generation_) return false;
  w.idle_since_ms = monotonic_ms();
  size_t all = 0, same = 0;
  for (const Worker& o : workers_) {
    if (o.busy || !o.ctl.valid()) continue;
    ++all;
    same += o.who && o.who->uid == w.who->uid;
  }
  return all <= max_idle_uid_workers && same <= max_idle_per_uid;
}

void Server::end_idle_workers() {
  if (!s_.switching_users) return;
  long long now = monotonic_ms();
  for (Worker& w : workers_) {
    // Closing its socket ends it (it reads the end of stream); its SIGCHLD reaps it.
    if (!w.busy && w.ctl.valid() && w.who && (w.generation != generation_ || now - w.idle_since_ms >= idle_ms)) w.ctl.reset();
  }
}

int Server::idle_timeout_ms() const {
  long long first = -1;
  for (const Worker& w : workers_) {
    if (!w.busy && w.ctl.valid() && w.who && (first < 0 || w.idle_since_ms < first)) first = w.idle_since_ms;
  }
  if (first < 0) return -1;
  long long wait = first + idle_ms - monotonic_ms();
  return wait < 0 ? 0 : static_cast<int>(wait);
}

}  // namespace quail
