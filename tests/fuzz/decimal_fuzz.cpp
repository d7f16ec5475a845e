// libFuzzer harness for lib/decimal, the number reader of every quail format:
// checked against a slow reference that compares digit strings, so no value is
// ever computed with a wrap. Input: 8 bytes of maximum (little-endian), 1 byte
// choosing LeadingZeros, then the text.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "decimal.hpp"

namespace {

// s <= t as numbers, for digit strings without leading zeros.
bool not_greater(std::string_view s, std::string_view t) { return s.size() != t.size() ? s.size() < t.size() : s <= t; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 9) return 0;
  uint64_t max = 0;
  for (int i = 7; i >= 0; --i) max = max << 8 | data[i];
  auto zeros = (data[8] & 1) ? quail::LeadingZeros::allow : quail::LeadingZeros::refuse;
  std::string_view s(reinterpret_cast<const char*>(data + 9), size - 9);
  auto v = quail::parse_decimal(s, max, zeros);
  bool syntax = !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos &&
                (zeros == quail::LeadingZeros::allow || s.size() == 1 || s[0] != '0');
  if (quail::is_decimal(s, zeros) != syntax) std::abort();
  std::string_view digits = s;
  while (digits.size() > 1 && digits[0] == '0') digits.remove_prefix(1);
  bool fits = syntax && not_greater(digits, std::to_string(max));
  if (v.has_value() != fits) std::abort();
  if (v && std::to_string(*v) != digits) std::abort();
  return 0;
}
