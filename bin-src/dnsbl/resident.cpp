// dnsbl -d: the resident dnsbl. In front of smtpd, dnsbl cost every connection
// from a client without relay rights two program starts (its own and then
// smtpd's, which tcpserver's fork server would otherwise have forked;
// bench/README.md, "The resident dnsbl"). Here smtpd, forked, asks over
// ROOT/run/dnsbl.sock, and a process forked per question (lib/resident_server)
// reads control/, looks the client up with a resolver of its own and answers
// one verdict line, as the wrapper would have set the environment.
#include "resident.hpp"

#include <unistd.h>

#include "decide.hpp"
#include "log.hpp"
#include "resident_server.hpp"

namespace quail::dnsbl {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_temporary = 111;
constexpr int hello_timeout_ms = 10000;

int answer(const std::string& root, Fd conn) {
  if (!caller_is_trusted(conn.get())) return exit_temporary;
  std::string hello;
  Fd err[1];
  auto ip = read_hello(conn.get(), max_dnsbl_hello, hello_timeout_ms, hello, err) ? parse_dnsbl_hello(hello)
                                                                                 : std::nullopt;
  if (!ip) {
    log_warn({{"event", "refused"}, {"reason", "not a session's hello"}});
    return exit_temporary;
  }
  // From here the log lines are the session's, in smtp.log, as the wrapper's are.
  if (::dup2(err[0].get(), 2) < 0) return exit_temporary;
  err[0].reset();
  auto d = decide(root, *ip);
  // smtpd waits for this line, or for the connection's end, which makes it ask again.
  return write_all(conn.get(), format_dnsbl_verdict(d.verdict)) ? exit_ok : exit_temporary;
}

}  // namespace

int run_resident(const std::string& root, std::optional<uid_t> uid, const std::vector<gid_t>& groups) {
  return run_resident_server({.socket_path = dnsbl_socket_path(root),
                              .uid = uid,
                              .groups = groups,
                              .server_name = "dnsbl-forks",
                              .child_name = "dnsbl",
                              .child = [&](Fd conn) { return answer(root, std::move(conn)); }});
}

}  // namespace quail::dnsbl
