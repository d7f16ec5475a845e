// SMTP client dialogue pieces: see dialog.hpp.
#include "dialog.hpp"

namespace quail::rd {

std::string base64(std::string_view in) {
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8 | uint8_t(in[i + 2]);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8;
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

bool loopback(const std::string& ip) {
  return ip == "::1" || ip.rfind("127.", 0) == 0 || ip.rfind("::ffff:127.", 0) == 0;
}

std::string code_of(const SmtpReply& r, std::string_view fallback4, std::string_view fallback5) {
  if (!r.enhanced.empty()) return r.enhanced;
  return std::string((r.code / 100) == 5 ? fallback5 : fallback4);
}

std::string said(const Target& t, const SmtpReply& r, std::string_view when, std::string_view f4,
                 std::string_view f5) {
  return t.label() + " said: " + quote_reply(r) + " (" + std::string(when) + ") (#" + code_of(r, f4, f5) + ")";
}

std::string said_temporary(const Target& t, const SmtpReply& r, std::string_view when, std::string_view code) {
  return t.label() + " said: " + quote_reply(r) + " (" + std::string(when) + ") (#" + std::string(code) + ")";
}

}  // namespace quail::rd
