// Handing a message to the queue from another program (sendmail, smtpd, forwards,
// bounces): runs $QUEUE_PROGRAM, else ROOT's queue-inject, and maps its exit code
// with the one table of queue_exit.hpp. InjectSession keeps one queue-inject -s
// for many messages (smtpd); trusts its answers no further than their format.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>
#include <sys/types.h>
#include <sys/un.h>

#include "control.hpp"
#include "envelope.hpp"
#include "fd.hpp"
#include "inject_local.hpp"
#include "queue_exit.hpp"
#include "result.hpp"

namespace quail {

// The resident injector's socket (queue-inject -d, a system install): ROOT/run/queue-inject.sock.
std::string inject_socket_path(const std::string& root);

// The queue program to run: $QUEUE_PROGRAM when set and non-empty, else bin/queue-inject.
std::string queue_program(const std::string& root);

// Runs the queue program; write_message writes the message to the given fd
// (a pipe) and returns false on failure. The envelope follows on the child's fd 1.
// Returns the queue program's outcome; an error only when it could not be started.
// On success (code 0) *id receives nothing: the queue logs the id itself.
// extra_env: NAME=value entries added to the queue program's environment
// (queue-send's QUAIL_NOTICE=1, man/queue-inject.8).
Result<qq::Outcome> inject_message(const std::string& root, const std::function<bool(int)>& write_message,
                                   const Envelope& env, int* exit_code = nullptr,
                                   const std::vector<std::string>& extra_env = {});

// Where a message's octets go while the caller receives them.
class MessageSink {
 public:
  virtual ~MessageSink() = default;
  // False once the queue program is gone; its answer (or exit) then says why.
  virtual bool write(std::string_view bytes) = 0;
};

// Many messages through one queue program: queue-inject -s, started at the first
// message and kept until destruction (EOF ends it cleanly, so it never outlives
// us by more than its last write). With $QUEUE_PROGRAM set each message runs the
// filter with inject_message instead: filters speak only the classic protocol.
// Where an exec would change no ids (inject_local.hpp), queue-inject's code runs
// in our own process instead, with the same outcomes. Otherwise a session goes to
// the resident injector when its socket answers (a system install's queue-inject
// -d: a fork instead of a set-uid exec), else to an exec'd queue-inject -s.
class InjectSession {
 public:
  explicit InjectSession(std::string root) : root_(std::move(root)), control_(root_) {}
  // control: the caller's copy of control/ (smtpd's Control::read_once), which
  // queue-inject's code reads when it runs in our process.
  InjectSession(std::string root, Control control) : root_(std::move(root)), control_(std::move(control)) {}
  InjectSession(const InjectSession&) = delete;
  InjectSession& operator=(const InjectSession&) = delete;
  ~InjectSession() { close(); }

  // Hands one message to the queue. write_message streams the message into the
  // sink and returns false to give it up (nothing is queued then). Returns the
  // message's outcome, exactly what the classic protocol would have given; a
  // queue program that died or answered nonsense is a temporary failure for this
  // message and the next one starts a new process. An error only when no queue
  // program could be started. *exit_code: the qmail-queue code (-1: none).
  Result<qq::Outcome> inject(const std::function<bool(MessageSink&)>& write_message, const Envelope& env,
                             int* exit_code = nullptr);
  // Ends the session: queue-inject reads EOF between messages and exits; waits for it.
  void close();
  // The running queue-inject's pid (0 when none or resident; for tests).
  pid_t pid() const { return pid_; }

 private:
  class Frames;
  class Here;
  Status start();
  bool connect_resident();
  Result<qq::Outcome> inject_here(const std::function<bool(MessageSink&)>& write_message, const Envelope& env,
                                  int* exit_code);
  bool add_data(std::string_view bytes);
  bool flush_data();
  bool send_tail(std::string_view tail);
  qq::Outcome answer(int* exit_code);
  qq::Outcome lost(int* exit_code);
  std::string root_;
  Control control_;
  pid_t pid_ = 0;
  bool resident_ = false;  // to_ and from_ are one connection to queue-inject -d
  Fd to_;     // frames: queue-inject's fd 0
  Fd from_;   // answers: queue-inject's fd 1
  std::string buf_;  // a gap for a D header, then message octets not yet framed
  bool broken_ = false;  // a write to queue-inject failed in this message
  std::unique_ptr<LocalInjector> local_;  // queue-inject's code in our process, once used
};

}  // namespace quail
