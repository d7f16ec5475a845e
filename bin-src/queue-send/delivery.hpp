// One delivery attempt: starting local-deliver (one recipient) or remote-deliver
// (the recipients of one message at one domain), and reading what they report.
// Contracts: DESIGN.md ("Contracts between programs"). Trusts neither child: an
// unknown code, a signal, a crash or a truncated report is a temporary failure.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "fd.hpp"
#include "result.hpp"
#include "spawn.hpp"

namespace quail {

// What one recipient's attempt came to.
enum class Verdict : uint8_t { delivered, failed, deferred };
struct RcptResult {
  Verdict verdict = Verdict::deferred;
  std::string reason;  // one line; failed ends in "(#5.x.y)", deferred in "(#4.x.y)"
  bool peer_dsn = false;  // delivered to a peer that took the DSN parameters: it reports success
};

struct Attempt {
  pid_t pid = -1;
  uint64_t dlv = 0;             // dlv= in the log: unique in this run
  uint64_t msg = 0;
  bool remote = false;
  std::string domain;           // remote: the recipients' domain
  std::vector<uint32_t> rcpts;  // indexes into the message's recipients
  Fd out;                       // the child's fd 1 (non-blocking read end)
  std::string report;           // what it wrote so far (capped)
  bool eof = false;
};

struct LaunchSpec {
  std::string program;   // path of local-deliver or remote-deliver
  std::vector<std::string> args;  // after argv[0]
  int message_fd = -1;   // fd 0 of the child: the queue file at byte 56
  std::vector<std::string> env;   // the whole environment
};
// Starts the child with fd 0 the message, fd 1 a pipe kept in `a.out`, fd 2 ours.
Status launch(Attempt& a, const LaunchSpec& spec);
// Reads what is available from a.out (non-blocking); sets a.eof at end of file.
void drain_output(Attempt& a);

// local-deliver: 0/99 delivered, 100 failed, 111 deferred, anything else deferred.
RcptResult local_result(const ExitStatus& st, std::string_view out);
// remote-deliver's qmail-remote report: per recipient r/h/s + text + NUL, then
// K/Z/D + text + NUL. An r recipient takes the final K (delivered), Z (deferred)
// or D (failed); h is failed, s is deferred. A non-zero exit or a short report
// defers every recipient. A final K whose text starts with "DSN " says the peer
// advertised DSN and was given NOTIFY/ORCPT/RET/ENVID (man/queue-send.8): its r
// recipients are delivered with peer_dsn, and the four bytes leave the reason.
std::vector<RcptResult> remote_results(const ExitStatus& st, std::string_view report, size_t recipients);

}  // namespace quail
