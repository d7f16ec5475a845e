// mailauth -d: the resident helper. smtpd used to exec mailauth for every
// session of a client without relay rights, and that start (exec, the static-pie
// relocation, glibc's and OpenSSL's CPUID probes, ~165 page faults) was the
// largest part of mailauth's cost for an MX peer that sends one message per
// connection (bench/README.md). quail up starts this one under supervise; it
// binds ROOT/run/mailauth.sock and forks a process per connection
// (lib/resident_server). That process is an exec'd helper's equal: it reads
// control/ and makes its DNS channel for its one session (so no two sessions
// share the state their DNS query ids come from), and never serves another.
#include "resident.hpp"

#include <unistd.h>

#include "log.hpp"
#include "mailauth_wire.hpp"
#include "resident_server.hpp"
#include "session.hpp"

namespace quail::mailauth {
namespace {

// smtpd sends its hello in the same breath as its connect.
constexpr int hello_timeout_ms = 10000;
constexpr size_t max_sid = 64;

// In the child: the caller must be smtpd, and its hello names the session and
// brings the session's stderr, where an exec'd helper's log lines would go.
int serve_caller(const std::string& root, Fd conn) {
  if (!caller_is_trusted(conn.get())) return exit_temporary;
  int fd = -1;
  auto hello = read_frame(conn.get(), hello_timeout_ms, &fd);
  Fd err(fd);
  if (!hello || hello->size() != 2 || (*hello)[0] != "session" || (*hello)[1].empty() ||
      (*hello)[1].size() > max_sid || !err.valid()) {
    log_warn({{"event", "refused"}, {"reason", hello ? "not a session's hello" : hello.error().reason}});
    return exit_temporary;
  }
  if (::dup2(err.get(), 2) < 0 || ::dup2(conn.get(), 0) < 0 || ::dup2(conn.get(), 1) < 0) return exit_temporary;
  err.reset();
  conn.reset();
  return serve_session(root, (*hello)[1]);
}

}  // namespace

int run_resident(const std::string& root, std::optional<uid_t> uid, const std::vector<gid_t>& groups) {
  return run_resident_server({.socket_path = socket_path(root),
                              .uid = uid,
                              .groups = groups,
                              .server_name = "mailauth-forks",
                              .child_name = "mailauth",
                              .child = [&](Fd conn) { return serve_caller(root, std::move(conn)); }});
}

}  // namespace quail::mailauth
