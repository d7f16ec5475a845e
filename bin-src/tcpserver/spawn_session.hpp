// Starting a session's program: clone(CLONE_VM | CLONE_VFORK) and exec, without
// glibc's posix_spawn and its walk over every signal. See spawn_session.cpp.
#pragma once
#include <string>
#include <sys/types.h>
#include <vector>

#include "result.hpp"

namespace quail::tcpserver {

// Starts argv[0] (a path) with argv and env, the connection conn (a descriptor
// above 2) on fds 0 and 1, no signal blocked, and SIGPIPE, SIGXFSZ, SIGCHLD,
// SIGHUP, SIGTERM, SIGINT and SIGALRM at their defaults, as lib/spawn starts a
// program; other descriptors are closed by exec (O_CLOEXEC). The pid, or the
// error of the clone or the exec. Only for a process without signal handlers
// (tcpserver takes its signals from a signalfd): the child shares its memory.
Result<pid_t> spawn_session(const std::vector<std::string>& argv, const std::vector<std::string>& env, int conn);

}  // namespace quail::tcpserver
