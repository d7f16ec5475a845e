// Strict decimals: see decimal.hpp.
#include "decimal.hpp"

namespace quail {

bool is_decimal(std::string_view s, LeadingZeros zeros) {
  if (s.empty()) return false;
  if (zeros == LeadingZeros::refuse && s.size() > 1 && s.front() == '0') return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::optional<uint64_t> parse_decimal(std::string_view s, uint64_t max, LeadingZeros zeros) {
  if (!is_decimal(s, zeros)) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    auto d = static_cast<uint64_t>(c - '0');
    // v * 10 + d > max, asked without computing it (it could wrap).
    if (d > max || v > (max - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

}  // namespace quail
