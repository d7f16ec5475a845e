// A delivery worker: a forked child of local-spawn that serves deliveries one
// after another instead of one fork per delivery -- in a single-user instance
// (no uid ever changes), or, switching users, for one user only, which it
// becomes for good at its start. It starts as a delivery child does and holds
// one socket of its own, to the server, never the scheduler's. See
// man/local-spawn.8, "Workers".
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "identity.hpp"
#include "lspawn.hpp"

namespace quail {

class ListSecret;

// control/srs/key as a worker with a user read it at its start, as root.
struct WorkerKey {
  std::shared_ptr<const ListSecret> srs;  // null: SRS is off
  std::optional<std::string> error;       // unreadable: every delivery is deferred with this
};

struct WorkerSpec {
  int ctl_fd;                            // the worker's end of its socket pair with the server
  std::string root;
  const std::vector<std::string>* env;   // the whole environment (delivery_environment)
  const std::vector<int>* reset_signals;  // signals_to_reset()
  const Identity* who = nullptr;          // switching users: the user it becomes; null: none
  const std::vector<gid_t>* groups = nullptr;  // and its supplementary groups (worker_groups)
};

// Deliveries a worker serves before it exits and the server forks a fresh one:
// what may build up in one process (memory, a descriptor a bug leaks) stays bounded.
inline constexpr int worker_deliveries = 100;

// Runs in the child right after fork(), with every signal blocked; never returns.
// Reads a request (lspawn packet, the queue file attached) from ctl_fd, delivers
// with the file on fd 0 and its reason pipe on fd 1, sends the reply packet back;
// exits 0 when ctl_fd closes or after worker_deliveries, 111 on its own trouble.
// A worker with a user reads control/srs/key as root first (a delivery child
// does it before it becomes its user), then becomes who with groups and cannot
// regain root.
[[noreturn]] void run_delivery_worker(const WorkerSpec& spec);

// A worker's delivery as its user (uid_worker.cpp): control/ read afresh, the
// recipient looked up again as that user, and delivered only when its identity
// (delivery_identity) is this very uid, else a temporary failure; \user items
// of an alias are never delivered here (the server gives those to a child).
// healthy as deliver_request's.
int deliver_as_worker_user(const LspawnRequest& r, const std::string& root, const WorkerKey& key, bool& healthy);

}  // namespace quail
