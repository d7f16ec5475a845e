// A resident helper: the long-lived process from which a protocol program's
// helper is forked per session instead of exec'd (mailauth -d, tlsd -d). It
// binds a Unix socket (0600; given to the sessions' user when one is named,
// then that user becomes ours), accepts, and forks a child per connection that
// serves that one caller and exits; the server itself never reads a caller's
// byte. Children share the server's address layout, so one that dies of a
// crash signal makes the server exit: supervise starts a fresh one, and
// callers whose connect fails meanwhile exec the helper as before.
#pragma once
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <sys/types.h>
#include <vector>

#include "fd.hpp"

namespace quail {

struct ResidentServer {
  std::string socket_path;
  std::optional<uid_t> uid;   // -u: the sessions' user (a system install's quail-smtpd)
  std::vector<gid_t> groups;  // -g: its group, then its memberships
  const char* server_name;    // the server's comm in ps ("mailauth-forks")
  const char* child_name;     // each child's ("mailauth")
  // In the server, before each fork (tlsd: a changed certificate reloaded).
  std::function<void()> before_fork = [] {};
  // In the child: serves conn; its result is the child's exit code.
  std::function<int(Fd conn)> child;
};

// Runs the server until SIGTERM (0), or a failure to start (111, logged as
// event=refused), or a child's crash (111, logged as child-signaled and
// exiting). Logs started and stopped.
int run_resident_server(const ResidentServer& spec);

// In a child: the caller runs as our uid or as root (SO_PEERCRED); a refusal is
// logged.
bool caller_is_trusted(int conn);

// In a child: the caller's hello, its bytes up to and with the first LF, with
// the descriptors that came with them in fds (every slot filled, or false). False
// too on EOF, a line longer than max, a control message cut short, or no LF
// within timeout_ms.
bool read_hello(int conn, size_t max, int timeout_ms, std::string& line, std::span<Fd> fds);

}  // namespace quail
