// The per-message delivery journal stat/<id> and the retry schedule, as
// queue-layout/README.md ("queue-send (S2 -> S5)", "Retry schedule") defines them.
// Read by queue-send, `quail queue` and `quail check`; the parser trusts no byte.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"

namespace quail {

enum class StatOutcome : uint8_t { pending, delivered, failed };

// What the journal says about one recipient.
struct StatRecipient {
  StatOutcome outcome = StatOutcome::pending;
  bool bounced = false;     // failed, and a `B` record followed its `F`
  int64_t last_try = 0;     // unix time of the last `T` record, 0 for none
  std::string reason;       // the `F` reason, else the last `T` reason
  bool reported = false;    // an `R` record: its success report is queued (or the peer sends it)
  bool warned = false;      // a `W` record: its delay notice is queued
};

struct QueueStat {
  int64_t birth_ns = 0;
  std::vector<StatRecipient> recipients;  // one per envelope recipient
  // A last line without its newline: a record whose write was cut by a crash.
  // It was never fdatasync'ed, so it never counted; it is ignored.
  bool torn_tail = false;
  // Bytes of the text up to and including the last whole record that parsed;
  // on a damaged journal queue-send keeps this prefix (see parse_queue_stat).
  size_t good_bytes = 0;
};

// Parses a journal for a message with `recipients` envelope recipients. Strict:
// format error naming the line for a bad first line, an unknown record, a
// recipient number out of range, a D after an F (or the reverse) for one recipient,
// a reason with control bytes. A torn last line is not an error (see torn_tail).
Result<QueueStat> parse_queue_stat(std::string_view text, size_t recipients);
// Parses as far as the records are sound and stops at the first bad line: what
// queue-send keeps of a damaged journal (an error only when the first line is bad).
Result<QueueStat> salvage_queue_stat(std::string_view text, size_t recipients);

// Record lines, each ending in '\n'. Reasons are made one printable line.
std::string stat_header_record(int64_t birth_ns);
std::string stat_delivered_record(size_t n);
std::string stat_failed_record(size_t n, std::string_view reason);
std::string stat_bounced_record();
std::string stat_temporary_record(size_t n, int64_t unix_time, std::string_view reason);
std::string stat_reported_record(size_t n);
std::string stat_warned_record(size_t n);
// The text of a journal holding exactly what `s` says (used to rewrite a damaged one).
std::string format_queue_stat(const QueueStat& s);
// A reason as a journal stores it: control bytes become spaces, at most 1000 bytes.
std::string stat_clean_reason(std::string_view reason);

// The retry schedule: attempt n (n >= 1) of a recipient is due at
//   birth + retry_unit * n^2 / scale
// and the next attempt after `now_ns` is the first such time later than now.
// retry_unit is 60 s, so retries come after 1, 4, 9, 16, 25 ... minutes; scale
// (QUAIL_RETRY_SCALE, a testing aid) divides the whole schedule.
inline constexpr int64_t retry_unit_ns = 60LL * 1000 * 1000 * 1000;
int64_t next_retry_ns(int64_t birth_ns, int64_t now_ns, int64_t scale = 1);
// The same schedule with another unit (queue-send's remote schedule,
// control/retryunitremote): birth + unit_ns * n^2, the first later than now.
int64_t next_retry_unit_ns(int64_t birth_ns, int64_t now_ns, int64_t unit_ns);

}  // namespace quail
