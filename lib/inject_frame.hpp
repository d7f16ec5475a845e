// queue-inject's session protocol (man/queue-inject.8, "Session mode"): the
// frames a caller writes on fd 0, one message after another, and the answer
// line per message. The parser trusts nothing: queue-inject may run set-uid.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "result.hpp"

namespace quail::frame {

// session = *message; message = *("D" length LF octets) ("E" length LF envelope / "A" LF)
// length: decimal, no sign, no leading zero, at least 1.
inline constexpr size_t max_chunk = 1 << 20;          // octets of one D frame
inline constexpr size_t max_envelope = 16 << 20;      // octets of the E frame (as classic fd 1)
inline constexpr size_t max_header = 10;              // "E16777216\n"
inline constexpr size_t max_answer = 256;             // one answer line, its LF included

// The header of a D frame (data) or an E frame (end + envelope) of n octets.
std::string data_header(size_t n);
std::string end_header(size_t n);
inline constexpr std::string_view abort_frame = "A\n";

// One step of the parser.
struct Event {
  enum class Kind {
    none,      // the input was consumed without an event (a header, or nothing yet)
    data,      // bytes: message octets (a view into the input given to next())
    end,       // bytes: the envelope (owned by the parser until the next call)
    aborted,   // the caller gave the message up
  };
  Kind kind = Kind::none;
  std::string_view bytes;
};

// Push parser: feed what was read; each call consumes a prefix and reports at
// most one event. After an error every later call fails the same way.
class Parser {
 public:
  // Consumes a prefix of in (how much: *used) and sets ev. Error (kind format)
  // on a malformed frame; the session cannot go on after one.
  Status next(std::string_view in, size_t& used, Event& ev);
  // True between messages: no octet of a next message has been consumed.
  // End of input here is the clean end of a session.
  bool at_boundary() const { return state_ == State::header && header_.empty() && !in_message_; }

 private:
  enum class State { header, data, envelope, failed };
  Status fail(std::string reason);
  Status parse_header(Event& ev);
  State state_ = State::header;
  std::string header_;     // a header being read (at most max_header octets)
  std::string envelope_;   // the E frame's octets being read
  uint64_t left_ = 0;      // octets of the current D or E frame still to come
  bool in_message_ = false;
  std::string failure_;
};

// The answer line for one message: "<code> <text>\n". The text is made one
// line of printable ASCII, at most max_answer octets in all.
std::string format_answer(int code, std::string_view text);
struct Answer {
  int code = 0;      // 0..255, a qmail-queue exit code
  std::string text;  // "K<id>" after 0, else a reason
};
// Parses one answer line without its LF; error (format) when malformed.
Result<Answer> parse_answer(std::string_view line);

}  // namespace quail::frame
