// Starting the scheduler on local-spawn's socket (descriptor 3, $QUAIL_LSPAWN_FD):
// as a child running as its own user (root), or in local-spawn's own place, with
// the fork server split off first (user "-"). See man/local-spawn.8.
#pragma once
#include <sys/types.h>

#include "fd.hpp"
#include "identity.hpp"
#include "result.hpp"

namespace quail {

// Forks the scheduler as `user` with `sock` on fd 3; its pid.
Result<pid_t> start_scheduler(const Identity& user, int sock, char** argv);

// Puts `sock` on fd 3 with $QUAIL_LSPAWN_FD=3 and execs the scheduler in this
// process; returns only when the exec failed (the reason).
Error exec_scheduler(int sock, char** argv);

// Closes the readiness descriptor ($QUAIL_READY_FD): only the scheduler reports readiness.
void drop_ready_fd();

}  // namespace quail
