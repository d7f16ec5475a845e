// queue-inject's two protocols (man/queue-inject.8): classic, one message per
// process as qmail-queue; session (-s), many framed messages with one answer line each.
#pragma once
#include <cstdint>
#include <string>

namespace quail::queue_inject {

// Returns the qmail-queue exit code of the one message. databytes: control/databytes.
int run_classic(const std::string& root, uint64_t databytes);
// Returns 0 when the caller ended the session between messages, else the code
// of the message that could not be read.
int run_session(const std::string& root, uint64_t databytes);

// queue-inject -s as a whole (the umask, control/databytes, the session) in a
// process forked by smtpd instead of exec'd (lib/inject_fork.hpp): the exit code.
int session_process(const std::string& root);

}  // namespace quail::queue_inject
