// A delivery worker: in a single-user instance (no uid ever changes) a forked
// child of local-spawn serves deliveries one after another instead of one fork
// per delivery. It starts as a delivery child does and holds one socket of its
// own, to the server, never the scheduler's. See man/local-spawn.8, "Workers".
#pragma once
#include <string>
#include <vector>

namespace quail {

struct WorkerSpec {
  int ctl_fd;                            // the worker's end of its socket pair with the server
  std::string root;
  const std::vector<std::string>* env;   // the whole environment (delivery_environment)
  const std::vector<int>* reset_signals;  // signals_to_reset()
};

// Deliveries a worker serves before it exits and the server forks a fresh one:
// what may build up in one process (memory, a descriptor a bug leaks) stays bounded.
inline constexpr int worker_deliveries = 100;

// Runs in the child right after fork(), with every signal blocked; never returns.
// Reads a request (lspawn packet, the queue file attached) from ctl_fd, delivers
// with the file on fd 0 and its reason pipe on fd 1, sends the reply packet back;
// exits 0 when ctl_fd closes or after worker_deliveries, 111 on its own trouble.
[[noreturn]] void run_delivery_worker(const WorkerSpec& spec);

}  // namespace quail
