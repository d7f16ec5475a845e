// One message on its way into the queue, S0 -> S2 of queue-layout/README.md,
// shared by the classic protocol (classic.cpp) and session mode (session.cpp).
// Every refusal is logged here, with the message's id once it has one.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "control.hpp"
#include "message_size.hpp"
#include "queue_file.hpp"

namespace quail::queue_inject {

// The uid the trace line and event=queued name: the real uid, or for the resident
// injector's session the connecting process's (SO_PEERCRED), set once by it.
uid_t caller_uid();
void set_caller_uid(uid_t uid);

// Logs event=refused and returns code.
int refuse(int code, const std::string& reason, const std::string& id = "");

// control/databytes, or 0 (no limit); false (logged, exit 55) when the file is malformed.
bool read_databytes(const Control& control, uint64_t& out);

class Injection {
 public:
  // databytes: control/databytes (0: no limit); control: where the free-space
  // floor is read (smtpd's copy of control/ when it runs this code itself).
  Injection(const std::string& root, const QueueDirs& dirs, const Control& control, uint64_t databytes)
      : root_(root), dirs_(dirs), control_(control), size_(databytes) {}
  // S0 -> S1: checks the root, the queue and its free-space floor, creates
  // tmp/<pid>.<birth> and writes the trace line. 0, or the qmail-queue code
  // (61, 62, 63, 53; 82 below control/queuefree, 55 when that file is malformed).
  int start();
  // Appends message octets: 0, or 53 (write error, disk full), or 31 once the
  // message is over databytes (its tmp file is removed at once).
  int append(std::string_view bytes);
  // Parses the envelope and commits (S1 -> S2: fsync, rename into todo/, fsync
  // todo/), logs event=queued and pulls the trigger. 0, or 11, 91, 53, 66.
  // An empty envelope is the caller giving up (classic protocol): 91, logged aborted.
  int finish(std::string_view envelope);
  // Drops the message (tmp file removed): the caller refused it after DATA.
  void abort();
  bool started() const { return writer_.has_value(); }
  const std::string& id() const { return id_; }
  // The reason of the last failure; for exit 82 with notqmail's "Z" in front,
  // as the caller reads it on fd 6 or in a session answer.
  const std::string& reason() const { return reason_; }

 private:
  int fail(int code, std::string reason);
  int check_floor();
  bool notice_reserve() const;
  void watch_header(std::string_view bytes);
  std::string message_id_field() const;
  const std::string& root_;
  const QueueDirs& dirs_;
  const Control& control_;
  std::optional<QueueWriter> writer_;
  MessageSize size_;
  std::string id_;
  std::string reason_;
  // The header section as it streams in (at most 64 KiB): the Message-ID that
  // event=queued logs, so an administrator finds the message a user names.
  std::string head_;
  bool head_done_ = false;
};

}  // namespace quail::queue_inject
