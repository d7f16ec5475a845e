// Handing a message to the queue from another program (sendmail, smtpd, forwards,
// bounces): runs $QUEUE_PROGRAM, else ROOT's queue-inject, and maps its exit code
// with the one table of queue_exit.hpp.
#pragma once
#include <functional>
#include <string>

#include "envelope.hpp"
#include "queue_exit.hpp"
#include "result.hpp"

namespace quail {

// The queue program to run: $QUEUE_PROGRAM when set and non-empty, else bin/queue-inject.
std::string queue_program(const std::string& root);

// Runs the queue program; write_message writes the message to the given fd
// (a pipe) and returns false on failure. The envelope follows on the child's fd 1.
// Returns the queue program's outcome; an error only when it could not be started.
// On success (code 0) *id receives nothing: the queue logs the id itself.
Result<qq::Outcome> inject_message(const std::string& root, const std::function<bool(int)>& write_message,
                                   const Envelope& env, int* exit_code = nullptr);

}  // namespace quail
