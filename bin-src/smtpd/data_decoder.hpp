// The message as it arrives after DATA (RFC 5321 4.1.1.4, 4.5.2) or in BDAT
// chunks (RFC 3030), decoded for the queue: CRLF becomes LF, stuffed dots go.
// Only <CRLF>.<CRLF> ends DATA; a bare CR or LF never starts a line, so no
// other spelling of the end can smuggle a second message. Trusts nothing.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace quail::smtpd {

// RFC 5321 4.5.3.1.6: a text line is at most 1000 octets with its CRLF (not
// counting a stuffed dot).
inline constexpr size_t max_text_line = 998;

class DataDecoder {
 public:
  enum class Mode { dot, chunked };
  explicit DataDecoder(Mode mode) : mode_(mode) {}

  // Decodes a prefix of in, appending the message's bytes (LF line ends) to out;
  // returns the bytes consumed: all of in, or in dot mode those up to and
  // including the terminating <CRLF>.<CRLF>, after which done() is true.
  size_t feed(std::string_view in, std::string& out);
  // Chunked mode, after the LAST chunk: a CR still waiting for its LF is bare.
  void finish(std::string& out);

  bool done() const { return state_ == State::done; }
  bool bare_cr() const { return bare_cr_; }
  bool bare_lf() const { return bare_lf_; }
  bool nul() const { return nul_; }
  bool long_line() const { return long_line_; }
  // Any fault that refuses the message whatever the queue says.
  bool faulty() const { return bare_cr_ || bare_lf_ || nul_ || long_line_; }
  // Octets of the message in its wire form (CRLF line ends, stuffing dots removed).
  uint64_t size() const { return size_; }
  // Received: fields in the header section (the mail-loop count).
  unsigned received() const { return received_; }

 private:
  enum class State { bol, dot, dot_cr, mid, cr, done };
  void text(char c, std::string& out);
  void end_line(std::string& out, bool crlf);
  Mode mode_;
  State state_ = State::bol;
  bool bare_cr_ = false;
  bool bare_lf_ = false;
  bool nul_ = false;
  bool long_line_ = false;
  uint64_t size_ = 0;
  size_t line_len_ = 0;
  bool in_header_ = true;
  unsigned received_ = 0;
  std::array<char, 9> head_{};  // the first octets of a header line, lowercased
};

}  // namespace quail::smtpd
