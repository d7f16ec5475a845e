// Fuzzes lib/smtp_reply over replies lib/smtp_command accepts: the one-line quote
// and the EHLO keyword parser.
#include <cstdint>
#include <string_view>

#include "smtp_reply.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  quail::SmtpReplyReader r;
  size_t pos = 0;
  while (pos <= in.size()) {
    size_t nl = in.find('\n', pos);
    std::string_view line = in.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    auto done = r.add(line);
    if (!done) break;
    if (*done) {
      quail::SmtpReply reply = r.take();
      std::string q = quail::quote_reply(reply);
      if (q.size() > 400) __builtin_trap();
      for (unsigned char c : q) {
        if (c < 0x20) __builtin_trap();
      }
      (void)quail::parse_ehlo(reply);
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return 0;
}
