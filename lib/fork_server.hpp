// tcpserver -F (man/tcpserver.8, "Fork server"): instead of an exec per
// connection, tcpserver starts the program once, in fork-server mode, and asks
// it for each session over a socketpair; the program forks, and the child goes
// on into its session with the connection on fds 0 and 1 and the session's
// environment, as an exec'd one would. The fork server has read no caller's
// byte: every session starts from the same clean image, without the exec, the
// dynamic start and the static initialisers (bench/README.md).
//
// The channel (SOCK_SEQPACKET, the server's fd 0):
//   tcpserver -> server: a spawn request, the session's environment as
//     NUL-terminated NAME=value entries with the connection attached
//     (SCM_RIGHTS); or "stop" with nothing attached: fork no more, report the
//     children still running, exit when the last has ended.
//   server -> tcpserver: Report records: a spawned child's pid (or a fork
//     that failed, with its errno), and each child's end with its wait status.
//     The server reaps its children; tcpserver learns of their ends only here.
#pragma once
#include <cstdint>
#include <string_view>

namespace quail::fork_server {

// The variable that puts a program into fork-server mode (fd 0 is the channel).
inline constexpr const char* env_name = "QUAIL_FORK_SERVER";
inline constexpr std::string_view stop_request = "stop";
// The largest environment a request carries.
inline constexpr size_t max_request = 64 * 1024;

struct Report {
  enum Kind : uint32_t { spawned = 1, failed = 2, exited = 3 };
  uint32_t kind;
  int32_t pid;     // spawned, exited
  int32_t status;  // exited: the wait status; failed: errno
};

// The program's side: when $QUAIL_FORK_SERVER is set, serves the channel on fd 0
// and returns only in a session's child, set up for its session; returns at once
// when the variable is not set. A server whose channel ends exits 0; one that
// cannot go on exits 111.
void serve_if_asked(const char* program);

}  // namespace quail::fork_server
