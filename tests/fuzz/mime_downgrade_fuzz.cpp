// Fuzzes lib/mime_downgrade: any message is converted without crashing, and
// quoted-printable output is 7-bit with lines of at most 76 octets.
#include <cstdint>
#include <string>
#include <string_view>

#include "mime_downgrade.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)quail::downgrade_8bit(in);
  std::string qp = quail::quoted_printable(in);
  size_t col = 0;
  for (unsigned char c : qp) {
    if (c >= 0x80 || c == 0) __builtin_trap();
    col = c == '\n' ? 0 : col + 1;
    if (col > 76) __builtin_trap();
  }
  return 0;
}
