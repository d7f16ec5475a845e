// quail-up's pieces: the listeners it knows (what each runs and needs) and the
// start of one detached service with a readiness handshake. See man/quail.8 ("up").
#pragma once
#include <string>
#include <vector>

#include "result.hpp"

namespace quail::up {

// One --<service> A:P request, parsed.
struct ListenRequest {
  std::string service;  // smtp, submission, smtps, pop3, pop3s, lists-http
  std::string host;     // 127.0.0.1 or ::1 (brackets removed); the name itself until resolved
  std::string port;
  std::string name = {};  // the host name the administrator gave ("" for an address)
};
// Parses "127.0.0.1:2525" or "[::1]:2525", and when names is true also
// "localhost:2525" (name set, resolved by resolve_listen); permanent error on anything else.
Result<ListenRequest> parse_listen(const std::string& service, const std::string& text, bool names);
// The request with its name resolved (once, through getaddrinfo) to the first
// address the resolver gives; the name's further addresses are appended to
// *others. Unchanged for an address. permanent error naming the name when it
// does not resolve, temporary when the resolver could not answer.
Result<ListenRequest> resolve_listen(const ListenRequest& r, std::vector<std::string>* others);

// The programs a listener needs, in the order they are checked (the first missing
// one is named in the refusal).
std::vector<std::string> listener_programs(const std::string& service);
// A system install's "-u UID -g GID,..." for what runs as quail-smtpd (its
// sessions, the resident mailauth): its uid, its group, its memberships.
Result<std::vector<std::string>> smtpd_ids_flags();
// The full command line of a listener: tcpserver with limits from control/, then
// the per-connection program. config error when a control file is malformed.
Result<std::vector<std::string>> listener_argv(const std::string& root, const ListenRequest& r);
// The command line `quail up` starts for a service: bin/supervise, with
// -l/-p/-b when it holds a listener's socket, the service's name, then argv.
Result<std::vector<std::string>> supervised_argv(const std::string& root, const std::string& service,
                                                const ListenRequest* listen, std::vector<std::string> argv);
// The listeners in control/listeners ("SERVICE ADDRESS:PORT" lines); config error
// naming the line when one is malformed, unknown or a second one of a service.
Result<std::vector<ListenRequest>> read_listeners(const std::string& root);
// Rewrites control/listeners (durably) with these listeners in service_names() order.
Status write_listeners(const std::string& root, const std::vector<ListenRequest>& listeners);

// A system install: ROOT/run/login-failures exists, quail-smtpd's, mode 0600,
// so checkpassword can count failed logins whichever uid it runs as (SMTP AUTH:
// quail-smtpd; POP3: root). temporary error when it cannot be made so.
Status prepare_login_failures(const std::string& root);

struct StartSpec {
  std::string root;
  std::string service;
  std::vector<std::string> argv;  // argv[0] is the program's path
  std::string pid_file;           // where its pid goes; "" for ROOT/run/<service>.pid
};
// Starts one service detached (own session, stdin /dev/null, stdout and stderr
// appended to ROOT/log/<service>.log, pid in ROOT/run/<service>.pid) and waits up
// to timeout_ms for it to write "\n" on $QUAIL_READY_FD. On failure the service is
// stopped, its pid file removed, and a temporary error says why.
Result<pid_t> start_service(const StartSpec& spec, int timeout_ms);

}  // namespace quail::up
