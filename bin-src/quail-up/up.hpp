// quail-up's pieces: the listeners it knows (what each runs and needs) and the
// start of one detached service with a readiness handshake. See man/quail.8 ("up").
#pragma once
#include <string>
#include <vector>

#include "result.hpp"

namespace quail::up {

// One --<service> A:P request, parsed.
struct ListenRequest {
  std::string service;  // smtp, submission, smtps, pop3, pop3s
  std::string host;     // 127.0.0.1 or ::1 (brackets removed)
  std::string port;
};
// Parses "127.0.0.1:2525" or "[::1]:2525"; permanent error on anything else.
Result<ListenRequest> parse_listen(const std::string& service, const std::string& text);

// The programs a listener needs, in the order they are checked (the first missing
// one is named in the refusal).
std::vector<std::string> listener_programs(const std::string& service);
// The full command line of a listener: tcpserver with limits from control/, then
// the per-connection program. config error when a control file is malformed.
Result<std::vector<std::string>> listener_argv(const std::string& root, const ListenRequest& r);
// Recompiles control/rules.<service> with quail-rules when its cdb is missing or
// older. Returns a warning to show (empty when none); permanent error when the
// rules do not compile.
Result<std::string> refresh_rules(const std::string& root, const std::string& service);

struct StartSpec {
  std::string root;
  std::string service;
  std::vector<std::string> argv;  // argv[0] is the program's path
};
// Starts one service detached (own session, stdin /dev/null, stdout and stderr
// appended to ROOT/log/<service>.log, pid in ROOT/run/<service>.pid) and waits up
// to timeout_ms for it to write "\n" on $QUAIL_READY_FD. On failure the service is
// stopped, its pid file removed, and a temporary error says why.
Result<pid_t> start_service(const StartSpec& spec, int timeout_ms);

}  // namespace quail::up
