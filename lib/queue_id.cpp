// Message ids: see queue_id.hpp.
#include "queue_id.hpp"

#include <charconv>

#include "queue_file.hpp"

namespace quail {
namespace {
constexpr size_t birth_digits = 12;
constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";

int digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string message_id(uint64_t inode, int64_t birth_ns) {
  // A birth outside 0 .. 36^12-1 (a clock before 1970 or after 2119) is not
  // written by queue-inject; it is folded into range so the id stays well formed.
  uint64_t b = birth_ns < 0 ? 0 : static_cast<uint64_t>(birth_ns);
  std::string out(birth_digits, '0');
  for (size_t i = birth_digits; i-- > 0;) {
    out[i] = digits[b % 36];
    b /= 36;
  }
  return out + std::to_string(inode);
}

std::optional<MessageIdParts> parse_message_id(std::string_view id) {
  if (id.size() <= birth_digits) return std::nullopt;
  MessageIdParts p;
  uint64_t b = 0;
  for (size_t i = 0; i < birth_digits; ++i) {
    int v = digit_value(id[i]);
    if (v < 0) return std::nullopt;
    if (b > (static_cast<uint64_t>(INT64_MAX) - static_cast<uint64_t>(v)) / 36) return std::nullopt;
    b = b * 36 + static_cast<uint64_t>(v);
  }
  std::string_view ino = id.substr(birth_digits);
  if (!valid_queue_id(ino)) return std::nullopt;
  auto r = std::from_chars(ino.data(), ino.data() + ino.size(), p.inode);
  if (r.ec != std::errc() || r.ptr != ino.data() + ino.size()) return std::nullopt;
  p.birth_ns = static_cast<int64_t>(b);
  return p;
}

}  // namespace quail
