// control/databytes for queue-inject: counts a message's octets as they arrive and
// says when it is over the limit. Trusts nothing: the octets are the caller's.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace quail::queue_inject {

// The trace fields the pipeline itself puts at the top of a message (smtpd's
// Received: and mailauth verdict, local-deliver's Delivered-To: on a forward) are not counted, so a
// message smtpd accepted under its own databytes check, or one forwarded, is not
// refused for what quail added. At most this many octets of them go uncounted.
inline constexpr uint64_t uncounted_trace_max = 64 * 1024;

class MessageSize {
 public:
  // limit: control/databytes; 0 means no limit.
  explicit MessageSize(uint64_t limit) : limit_(limit) {}
  // Adds message octets; false once the counted size is over the limit.
  bool add(std::string_view bytes);
  uint64_t counted() const { return counted_; }
  uint64_t limit() const { return limit_; }

 private:
  // One octet while the message is still in its leading trace fields.
  void leading(char c);
  uint64_t limit_;
  uint64_t counted_ = 0;
  uint64_t skipped_ = 0;   // trace octets not counted
  bool leading_ = true;    // every line so far belonged to a leading trace field
  bool in_field_ = false;  // inside such a field's line, up to its LF
  std::string head_;       // the start of the current line while it is undecided
};

}  // namespace quail::queue_inject
