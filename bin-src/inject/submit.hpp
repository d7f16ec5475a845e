// Local submission, shared by inject, sendmail and mailq: three argument parsers
// in front of one implementation. Behaviour and exit codes: man/sendmail.8.
// Trusts nothing it reads: arguments, environment and the message are checked.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"

namespace quail::submit {

// qmail-inject's convention (cron and friends only test zero / non-zero).
inline constexpr int exit_ok = 0;
inline constexpr int exit_permanent = 100;  // usage, bad address, message refused
inline constexpr int exit_temporary = 111;  // queue trouble, unreadable config: try again

struct Options {
  std::string root;
  bool extract = false;       // -t: recipients from To/Cc/Bcc (or Resent-*)
  bool dot_ends = false;      // a line holding only "." ends the message (sendmail without -i)
  bool sender_given = false;  // -f / -r was given
  std::string sender;         // as given: "" or "<>" is the null sender
  std::string full_name;      // -F: display name of an added From:
  std::string notify;         // -N: DSN NOTIFY for every recipient
  std::string ret;            // -R: DSN RET
  std::string envid;          // -V: DSN ENVID (plain text; stored as xtext)
  std::vector<std::string> recipients;  // command-line arguments, each an address list
};

// Reads the message on fd 0 and queues it. Returns the exit code; the reason for
// a failure is logged on fd 2.
int submit(const Options& opt);

// sendmail -q: asks queue-send to try every waiting recipient now (quail queue
// retry all). Silent when done, as cron expects; returns the exit code.
int run_queue(const std::string& root);
// sendmail -bv: one sentence per address on fd 1 saying how it would be
// delivered. 0 when every address would be, 100 when one would be refused.
int verify_addresses(const std::string& root, const std::vector<std::string>& addresses);
// mailq / sendmail -bp: lists ROOT/queue on fd 1. Returns the exit code.
int list_queue(const std::string& root);

// Checks -N / -R values and upper-cases them; permanent error naming the value.
Result<std::string> check_notify(std::string_view value);
Result<std::string> check_ret(std::string_view value);

// Logs a usage error (`what`) and the usage text; returns exit_permanent.
int usage_error(std::string_view what, std::string_view usage);

// `--root DIR` or `--root=DIR` as the first argument: the root and how many
// arguments it took (0 when absent). A missing DIR leaves root empty with taken 1.
struct RootFlag {
  std::string root;
  int taken = 0;
  bool missing = false;
};
RootFlag root_flag(int argc, char** argv);

}  // namespace quail::submit
