// Running queue-inject's session code in a fork of the caller instead of an exec of
// ROOT/bin/queue-inject, when the exec would give a process with the caller's own
// credentials anyway (man/smtpd.8, "The queue-inject process"). Trusts nothing new:
// the child is queue-inject's code reading the same frames from the same pipes.
#pragma once
#include <string>
#include <sys/types.h>

#include "result.hpp"

namespace quail {

// queue-inject -s linked into the caller: runs the session on fds 0/1 and returns
// the process's exit code (qmail-queue's codes). Set by the program that links it.
using InjectorEntry = int (*)(const std::string& root);
void set_injector_entry(InjectorEntry entry);

// Whether a fork may stand in for ROOT/bin/queue-inject: an entry is set,
// $QUEUE_PROGRAM plays no part, ROOT/bin/queue-inject is the program built beside
// our own executable (same directory after links are resolved) and it carries no
// set-uid or set-gid bit that would give it other ids than ours. Decided once per process.
bool injector_fork_allowed(const std::string& root);

// Forks a child that makes in_fd its fd 0 and out_fd its fd 1, closes every other
// descriptor above 2, puts every signal back to its default (SIGPIPE ignored, as
// every quail program has it) and runs the entry. The caller's pid of the child,
// or an error when fork failed.
Result<pid_t> fork_injector(const std::string& root, int in_fd, int out_fd);

}  // namespace quail
