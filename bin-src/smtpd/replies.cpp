// Reply formatting and the EHLO list: see replies.hpp.
#include "replies.hpp"

namespace quail::smtpd {
namespace {

// A reply is one line: anything that could end it early or confuse a client goes.
std::string safe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  return out;
}

}  // namespace

void reply(LineIo& io, int code, std::string_view enhanced, std::string_view text) {
  std::string line = std::to_string(code);
  line += ' ';
  if (!enhanced.empty()) {
    line += enhanced;
    line += ' ';
  }
  line += safe(text);
  line += "\r\n";
  io.write(line);
}

void reply_lines(LineIo& io, int code, const std::vector<std::string>& lines) {
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string line = std::to_string(code);
    line += i + 1 == lines.size() ? ' ' : '-';
    line += safe(lines[i]);
    line += "\r\n";
    io.write(line);
  }
}

std::vector<std::string> ehlo_keywords(const Settings& s, const SessionFeatures& features) {
  std::vector<std::string> k = {"PIPELINING", "8BITMIME"};
  k.push_back(s.databytes ? "SIZE " + std::to_string(s.databytes) : "SIZE");
  k.insert(k.end(), {"ENHANCEDSTATUSCODES", "SMTPUTF8", "CHUNKING", "DSN"});
  if (features.starttls) k.push_back("STARTTLS");
  if (features.auth) k.push_back("AUTH PLAIN LOGIN");
  return k;
}

}  // namespace quail::smtpd
