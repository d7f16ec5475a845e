// qmail-queue's exit codes, exactly (qmail-queue(8), notqmail's 82), and the one
// mapping from a code to a status that every caller of queue-inject uses.
#pragma once
#include <string>

namespace quail::qq {

inline constexpr int ok = 0;
inline constexpr int address_too_long = 11;
inline constexpr int refused = 31;
inline constexpr int no_memory = 51;
inline constexpr int timeout = 52;
inline constexpr int write_error = 53;
inline constexpr int read_error = 54;
inline constexpr int config_error = 55;
inline constexpr int network = 56;
inline constexpr int root_home = 61;
inline constexpr int queue_dir = 62;
inline constexpr int queue_pid = 63;
inline constexpr int queue_mess = 64;
inline constexpr int queue_intd = 65;
inline constexpr int queue_todo = 66;
inline constexpr int temp_refused = 71;
inline constexpr int conn_timeout = 72;
inline constexpr int conn_rejected = 73;
inline constexpr int conn_failed = 74;
inline constexpr int internal_bug = 81;
inline constexpr int custom_error = 82;  // reason on fd 6: D<text> (permanent) or Z<text> (temporary)
inline constexpr int envelope_format = 91;

struct Outcome {
  bool permanent;     // 11-40: the message will never be accepted as it is
  std::string text;   // a human reason, ending in an RFC 3463 code: "... (#4.3.0)"
  std::string id;     // on success, the queue id queue-inject reported on fd 6 ("K<id>"), if any
};

// What an exit status of queue-inject (or a QUEUE_PROGRAM filter) means. A code of
// 82 takes its text from custom ("Dtext" / "Ztext"); unknown codes and signals are
// temporary (never bounce for our own trouble). `signaled` is true when the
// process died of a signal. On code 0, custom "K<id>" is queue-inject's report
// of the new message's id (a quail addition; qmail-queue filters send nothing).
Outcome describe(int code, bool signaled = false, const std::string& custom = "");

}  // namespace quail::qq
