// Buffered line I/O for the protocol servers (smtpd, later pop3d) on fd 0/1:
// input is read ahead, replies are queued and written only before the reader
// would block (RFC 2920 pipelining), and every wait is bounded by a timeout.
// Trusts nothing it reads; never exits, never logs.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace quail {

enum class IoStatus {
  ok,
  eof,       // the peer closed its side (no more input)
  timeout,   // nothing arrived (or could be sent) within the timeout
  error,     // read/write/poll failed; errno_value() says why
  too_long,  // read_line: the line was over the limit and has been skipped
};

class LineIo {
 public:
  // timeout_ms bounds each wait for input or for room to write; negative: no limit.
  LineIo(int in_fd, int out_fd, int timeout_ms, size_t read_size = 16384);
  LineIo(const LineIo&) = delete;
  LineIo& operator=(const LineIo&) = delete;

  // The next line, without its LF and without the CR before it; *crlf (when given)
  // tells whether it ended in CRLF. The timeout bounds the whole line, not each
  // read: a client dripping a byte a second (slow-loris) times out like a silent one. A line of more than max octets (its line end
  // included) is read to its LF and dropped: too_long. eof also when the input
  // ends inside a line (that partial line is dropped).
  IoStatus read_line(std::string& line, size_t max, bool* crlf = nullptr);

  // Input read ahead and not consumed yet (for data that is not line based).
  std::string_view buffered() const { return std::string_view(in_.get() + in_begin_, in_end_ - in_begin_); }
  void consume(size_t n);
  bool has_buffered_input() const { return in_begin_ < in_end_; }
  // Flushes queued output, then waits for input and appends what arrives.
  IoStatus fill();

  // Queues output; it is written by flush(), which fill() calls before waiting.
  void write(std::string_view s) { out_ += s; }
  // Writes what is queued. After one write failed or timed out, every later flush
  // fails at once (a client that stopped reading is not waited for twice).
  IoStatus flush();
  bool has_pending_output() const { return !out_.empty(); }
  size_t pending_output() const { return out_.size(); }

  int errno_value() const { return errno_; }
  void set_timeout(int timeout_ms) { timeout_ms_ = timeout_ms; }

 private:
  IoStatus wait(short events);
  IoStatus write_some();
  int in_fd_;
  int out_fd_;
  int timeout_ms_;
  size_t read_size_;
  // Read-ahead: in_[in_begin_, in_end_) is unconsumed input. Not a std::string:
  // resizing one zero-fills it, and an idle session would then keep pages
  // (read_size of them) it never read into.
  std::unique_ptr<char[]> in_;
  size_t in_cap_ = 0;
  size_t in_begin_ = 0;
  size_t in_end_ = 0;
  std::string out_;
  int errno_ = 0;
  bool eof_ = false;
  int64_t line_deadline_ = -1;  // CLOCK_MONOTONIC ms while read_line waits; -1: none
  int out_is_socket_ = -1;  // unknown until the first write
  IoStatus out_broken_ = IoStatus::ok;  // a failed or timed-out write: later flushes fail at once
};

}  // namespace quail
