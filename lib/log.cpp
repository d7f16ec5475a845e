// logfmt lines: see log.hpp.
#include "log.hpp"

#include <unistd.h>

#include "fd.hpp"

namespace quail {
namespace {
std::string g_program = "quail";
int g_fd = 2;
constexpr size_t max_value = 400;
}  // namespace

void log_set_program(std::string_view name) { g_program = name; }
void log_set_fd(int fd) { g_fd = fd; }

std::string log_quote(std::string_view v) {
  bool truncated = v.size() > max_value;
  if (truncated) v = v.substr(0, max_value);
  bool quote = v.empty() || truncated;
  std::string body;
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      body += '\\';
      body += static_cast<char>(c);
      quote = true;
    } else if (c < 0x20 || c >= 0x7f) {
      static const char hex[] = "0123456789abcdef";
      body += "\\x";
      body += hex[c >> 4];
      body += hex[c & 15];
      quote = true;
    } else {
      if (c == ' ' || c == '=') quote = true;
      body += static_cast<char>(c);
    }
  }
  if (truncated) body += "...";
  return quote ? "\"" + body + "\"" : body;
}

void log_event(std::string_view level, std::initializer_list<LogField> fields) {
  std::string line = "prog=" + g_program + " level=" + std::string(level);
  for (const auto& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    line += log_quote(f.value);
  }
  line += '\n';
  write_all(g_fd, line);
}

}  // namespace quail
