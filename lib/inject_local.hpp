// queue-inject's code run inside the caller's own process instead of an exec of
// ROOT/bin/queue-inject, where the exec would give a process with the caller's
// own uid, gids and root anyway (man/smtpd.8, "The queue-inject process"): a
// single-user instance's smtpd. Nothing crosses a privilege boundary there, and
// the exec, or the fork that used to stand in for it, cost more CPU per
// connection than the whole injection (bench/README.md, "One message per
// connection"). Trusts nothing new: the same code reads the same bytes.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "control.hpp"

namespace quail {

// One caller's queue-inject session, message after message; what queue-inject -s
// does for each frame, with the same files, fsyncs, log lines (prog=queue-inject)
// and qmail-queue codes.
class LocalInjector {
 public:
  virtual ~LocalInjector() = default;
  // A message begins (S0 -> S1): 0, or the qmail-queue code of a failure.
  virtual int begin() = 0;
  // Message octets: 0, or the code of a failure (the message is then dropped).
  virtual int append(std::string_view bytes) = 0;
  // The envelope (its serialised records): commits the message (S1 -> S2). 0, or a code.
  virtual int finish(std::string_view envelope) = 0;
  // The caller gave the message up: nothing of it stays.
  virtual void abort() = 0;
  // After the last call: "K<id>" when the message was committed, else the failure's
  // reason, as queue-inject -s would have answered (lib/inject_frame).
  virtual std::string answer_text() const = 0;
};

// control: where the injection reads databytes and the free-space floor (the
// caller's copy of control/, so a session reads each file once).
using LocalInjectorFactory = std::unique_ptr<LocalInjector> (*)(const std::string& root, const Control& control);
// Set by the program that links queue-inject's code (smtpd's main).
void set_local_injector(LocalInjectorFactory factory);

// Whether queue-inject may run in our process: a factory is set, $QUEUE_PROGRAM
// plays no part, ROOT/bin/queue-inject is the program built beside our own
// executable (the same file) and it carries no set-uid or set-gid bit that would
// give it other ids than ours. Decided once per process.
bool local_injector_allowed(const std::string& root);

// A new session's injector; only when local_injector_allowed.
std::unique_ptr<LocalInjector> make_local_injector(const std::string& root, const Control& control);

}  // namespace quail
