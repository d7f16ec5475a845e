// Starting child programs with posix_spawn (cheap: vfork semantics) and reading
// how they ended. A child's signal or unknown code is the caller's to treat as
// temporary (DESIGN.md, contracts).
#pragma once
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

#include "result.hpp"

namespace quail {

struct SpawnOptions {
  // fd_map: child fd <- parent fd, applied in order (dup2); all other fds the
  // parent opened with O_CLOEXEC are closed by exec.
  std::vector<std::pair<int, int>> fd_map;
  // Environment; empty means inherit the caller's.
  std::vector<std::string> env;
  bool set_env = false;
};

// Starts argv[0] (a path) with argv; returns the pid.
Result<pid_t> spawn(const std::vector<std::string>& argv, const SpawnOptions& opt = {});

struct ExitStatus {
  bool signaled = false;
  int code = 0;    // exit code, or the signal number when signaled
  bool ok() const { return !signaled && code == 0; }
};
// Waits for pid (retrying EINTR).
Result<ExitStatus> wait_for(pid_t pid);
ExitStatus decode_status(int wstatus);

}  // namespace quail
