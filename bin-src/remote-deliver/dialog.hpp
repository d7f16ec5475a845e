// The pieces of an SMTP client dialogue: commands sent and replies read with a
// deadline each (lib/smtp_command parses the lines, strictly), and the reason
// texts that quote a peer. Trusts nothing the peer sends.
#pragma once
#include <string>
#include <string_view>

#include "clock.hpp"
#include "conn.hpp"
#include "session.hpp"
#include "smtp_reply.hpp"

namespace quail::rd {

std::string base64(std::string_view in);
// True for 127.0.0.0/8 and ::1 (a password may go there without TLS).
bool loopback(const std::string& ip);
// The reply's own RFC 3463 code, or the fallback for its class.
std::string code_of(const SmtpReply& r, std::string_view fallback4, std::string_view fallback5);
// "host [ip] said: 550 5.1.1 no such user (RCPT) (#5.1.1)"
std::string said(const Target& t, const SmtpReply& r, std::string_view when, std::string_view f4 = "4.0.0",
                 std::string_view f5 = "5.0.0");
// The same, with a code of our choosing: for a refusal that only moves us to the
// next host or defers (a 5xx greeting or login refusal is never a bounce).
std::string said_temporary(const Target& t, const SmtpReply& r, std::string_view when, std::string_view code);

class Dialog {
 public:
  Dialog(Conn& c, const Target& t) : c_(c), t_(t) {}
  bool send(std::string_view s, int ms) {
    io_ = c_.write(s, monotonic_ms() + ms);
    return io_ == Io::ok;
  }
  bool read(SmtpReply& r, int ms) {
    SmtpReplyReader rd;
    std::string line;
    int64_t deadline = monotonic_ms() + ms;
    for (size_t n = 0;; ++n) {
      io_ = c_.read_line(line, max_reply_line, deadline);
      if (io_ != Io::ok) return false;
      auto done = rd.add(line);
      if (!done || n >= max_reply_lines) {
        bad_ = true;
        return false;
      }
      if (*done) {
        r = rd.take();
        return true;
      }
    }
  }
  bool cmd(const std::string& line, SmtpReply& r, int ms) { return send(line + "\r\n", ms) && read(r, ms); }
  // Why the last send or read failed, for a reason text.
  std::string lost(std::string_view when) const {
    if (bad_) return t_.label() + " does not speak SMTP (" + std::string(when) + ") (#4.4.2)";
    std::string detail = c_.last_error().empty() ? "" : ": " + c_.last_error();
    return t_.label() + " " + std::string(io_name(io_)) + detail + " (" + std::string(when) + ") (#4.4.2)";
  }
  void quit(int ms) {
    SmtpReply r;
    if (send("QUIT\r\n", ms)) read(r, ms);
  }

 private:
  Conn& c_;
  const Target& t_;
  Io io_ = Io::ok;
  bool bad_ = false;
};


}  // namespace quail::rd
