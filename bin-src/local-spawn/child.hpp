// One local delivery in a forked child of local-spawn: no second fork, no exec.
// The child sheds everything of local-spawn's (signal handlers, descriptors,
// environment), reads control/ afresh, becomes the delivery's user when
// local-spawn switches users, and runs local-deliver's code. See man/local-spawn.8.
#pragma once
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
};

// Runs in the child right after fork(), with every signal blocked; never returns:
// _exit()s with local-deliver's exit code (111 for any trouble of its own).
[[noreturn]] void run_delivery_child(const ChildSpec& spec);

}  // namespace quail
