// supervise's pieces: the listening socket it holds for its child, and the
// child's start, readiness and state file. See man/supervise.8.
#pragma once
#include <string>
#include <sys/types.h>
#include <vector>

#include "fd.hpp"
#include "result.hpp"

namespace quail::supervise {

inline constexpr int exit_ok = 0;         // stopped by SIGTERM or SIGINT, the child gone
inline constexpr int exit_usage = 100;    // bad arguments, an address that cannot be bound
inline constexpr int exit_trouble = 111;  // the first start failed, or no fork, no state file

// Binds and listens on host (an IPv4 or IPv6 literal) and port; the socket is
// close-on-exec (the child gets it as fd 3 through dup2).
Result<Fd> listen_on(const std::string& host, const std::string& port, int backlog);

// One start of the child: argv with the socket (or -1) as fd 3 under LISTEN_FDS=1
// and LISTEN_PID, and ready_fd (or -1) as $QUAIL_READY_FD.
Result<pid_t> start_child(const std::vector<std::string>& argv, int socket_fd, int ready_fd);

// Waits up to timeout_ms for "\n" on fd.
enum class Readiness { ready, closed, waiting };
Readiness wait_ready(int fd, int timeout_ms);

// ROOT/run/<service>.pid (the child's pid) and ROOT/run/<service>.state
// ("<child pid> <unix time it started> <restarts>\n"), both replaced atomically.
Status write_state(const std::string& root, const std::string& service, pid_t child, long since, long restarts);
// Removes both files when the service stops for good.
void clear_state(const std::string& root, const std::string& service);

}  // namespace quail::supervise
