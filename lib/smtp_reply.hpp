// SMTP replies as a client reads them (RFC 5321 4.2): multi-line replies, their
// code, the RFC 3463 enhanced status, and the EHLO keywords a client acts on.
// Trusts nothing: the peer is any server on the Internet (tests/fuzz/smtp_reply_fuzz.cpp).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace quail {

// Longest reply line accepted (RFC 5321 4.5.3.1.5 says 512 with CRLF; peers send more).
inline constexpr size_t max_reply_line = 4096;
// Most lines one reply may have; a peer that sends more is broken.
inline constexpr size_t max_reply_lines = 200;

struct SmtpReply {
  int code = 0;                    // 200..599
  std::vector<std::string> lines;  // the text of each line, after "250-" or "250 "
  // 2, 4 or 5 (the first digit), 0 for no reply.
  int kind() const { return code / 100; }
  // "5.1.1" when the first line starts with an enhanced status code of the
  // reply's class (RFC 2034), else "".
  std::string enhanced() const;
  // The reply on one line for a reason text: "550 5.1.1 no such user", lines
  // joined with " / ", control bytes as '?', at most 400 bytes.
  std::string quote() const;
};

// Accumulates the lines of one reply.
class SmtpReplyReader {
 public:
  enum class Step { more, done, bad };
  // One line without its CRLF. done when it was the reply's last line (then
  // reply() holds it), bad when the line is not a reply line or its code differs
  // from the lines before (the peer is not speaking SMTP).
  Step feed(std::string_view line);
  const SmtpReply& reply() const { return reply_; }
  // Starts the next reply.
  void reset() { reply_ = SmtpReply{}; }

 private:
  SmtpReply reply_;
};

// What an EHLO reply offers that a client uses (RFC 5321, 1870, 2920, 3207, 3461,
// 6152, 6531, 4954).
struct EhloOffer {
  bool pipelining = false;
  bool starttls = false;
  bool dsn = false;
  bool smtputf8 = false;
  bool eightbitmime = false;
  bool size = false;
  uint64_t size_limit = 0;  // 0: no limit declared
  bool auth_plain = false;
  bool auth_login = false;
};
EhloOffer parse_ehlo(const SmtpReply& reply);

}  // namespace quail
