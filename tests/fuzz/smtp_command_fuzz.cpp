// Fuzzes the SMTP command-line parser (lib/smtp_command) with what a client may
// send, and the reply-line parser with what a server may answer.
#include <cstdint>
#include <string>
#include <string_view>

#include "smtp_command.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  quail::SmtpReplyReader replies;
  size_t start = 0;
  while (start <= in.size()) {
    size_t nl = in.find('\n', start);
    std::string_view line = in.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    if (auto c = quail::parse_smtp_command(line); c.ok()) {
      // A path that parsed is a valid address: it parses again to itself.
      if ((c->verb == quail::SmtpVerb::mail || c->verb == quail::SmtpVerb::rcpt) && !c->path.null()) {
        auto again = quail::parse_address(c->path.str());
        if (!again.ok() || again->str() != c->path.str()) __builtin_trap();
      }
      if (c->verb == quail::SmtpVerb::bdat && c->chunk_size > static_cast<uint64_t>(INT64_MAX)) __builtin_trap();
      // A SIZE value is 1 to 20 digits; its value never wraps below what the digits say.
      if (const auto* p = c->param("SIZE"); p) {
        auto size = quail::parse_size_value(p->value);
        if (size.has_value() != (!p->value.empty() && p->value.size() <= 20 &&
                                 p->value.find_first_not_of("0123456789") == std::string::npos)) {
          __builtin_trap();
        }
        if (size && p->value.size() < 20 && std::to_string(*size).size() > p->value.size()) __builtin_trap();
      }
    }
    if (auto r = replies.add(line); r.ok() && r.value()) {
      auto reply = replies.take();
      if (reply.code < 200 || reply.code > 559 || reply.lines.empty()) __builtin_trap();
    }
    (void)quail::valid_xtext(line);
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return 0;
}
