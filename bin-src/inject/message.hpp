// The message as inject and sendmail read it from fd 0: lines with CRLF made LF, an
// optional end at a lone "." line, the header section held, the body streamed.
// Trusts nothing: the header is parsed by lib/headers, the body is copied untouched.
#pragma once
#include <string>
#include <vector>

#include "headers.hpp"
#include "result.hpp"

namespace quail::submit {

// Reads lines from an fd. A CR right before LF is dropped (stored mail has LF
// line ends); a bare CR is kept. With dot_ends, a line holding only "." is the end.
class InputReader {
 public:
  InputReader(int fd, bool dot_ends) : fd_(fd), dot_ends_(dot_ends) {}
  // The next line with its LF (the last line may lack it); false at the end.
  // io_read error when the fd cannot be read.
  Result<bool> next(std::string& line);

 private:
  int fd_;
  bool dot_ends_;
  bool eof_ = false;
  bool done_ = false;
  std::string buf_;
  size_t pos_ = 0;   // start of the unread line in buf_
  size_t scan_ = 0;  // where the search for its LF resumes
};

// The header section as read, and the body line that ended it when no blank line did.
struct InputHeader {
  std::vector<HeaderField> fields;
  std::string first_body_line;  // "" when a blank line (or the end) ended the header
  bool ended = false;           // the message ended inside the header
};

// Reads the header section. An error only when fd 0 cannot be read.
Result<InputHeader> read_header(InputReader& in);

// What submission adds to a header that lacks it.
struct Additions {
  std::string date;        // the Date: value to add when missing
  std::string message_id;  // "<...>", added when missing
  std::string from;        // the From: value to add when missing
};

// The header section as it is queued: every field but Bcc and Resent-Bcc, then the
// missing Date, Message-ID and From, then the blank line.
std::string rewrite_header(const std::vector<HeaderField>& fields, const Additions& add);

// A fresh Message-ID: <seconds.pid.random@host>.
std::string make_message_id(const std::string& host);

}  // namespace quail::submit
