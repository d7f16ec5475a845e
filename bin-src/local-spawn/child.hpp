// One local delivery in a forked child of local-spawn: no second fork, no exec.
// The child sheds everything of local-spawn's (signal handlers, descriptors,
// environment), reads control/ afresh, becomes the delivery's user when
// local-spawn switches users, and runs local-deliver's code. See man/local-spawn.8.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "lspawn.hpp"

namespace quail {

struct ChildSpec {
  const LspawnRequest* req;
  int message_fd;                     // the queue file at the message: becomes fd 0
  int reason_fd;                      // the reason pipe's write end: becomes fd 1
  std::string root;
  bool switching_users;               // root with a scheduler user: become the recipient
  const std::vector<std::string>* env;  // the whole environment (delivery_environment)
  const std::vector<int>* reset_signals;  // signals_to_reset(), taken once the handlers are in place
};

// The signals whose disposition is not what an exec'd local-deliver starts
// with (default; SIGPIPE ignored): the only ones a child must reset, instead of
// one sigaction for each of the 64 (measured: 64 system calls per delivery).
std::vector<int> signals_to_reset();

// The pieces of a child's start and of its delivery, shared with a delivery
// worker (worker.hpp). Each runs in the forked process only.
void reset_child_signals(const std::vector<int>& differ);  // then unblocks every signal
void take_child_environment(const std::vector<std::string>& env);
void close_from(int lowest);  // closes every descriptor from lowest up
// One delivery (control/ read afresh, the user switched when switching_users):
// the reason on fd 1, the log line on fd 2, local-deliver's exit code; 111 with
// healthy false when it ended in an exception (the process should not go on).
int deliver_request(const LspawnRequest& r, const std::string& root, bool switching_users, bool& healthy);
// Runs one delivery: an exception becomes exit 111 and a fatal log line, and
// healthy says whether this process may take another request.
int guarded_delivery(const std::function<int()>& deliver, bool& healthy);

// Runs in the child right after fork(), with every signal blocked; never returns:
// _exit()s with local-deliver's exit code (111 for any trouble of its own).
[[noreturn]] void run_delivery_child(const ChildSpec& spec);

}  // namespace quail
