// Fuzzes lib/srs's reverse parser: any local part a stranger sends to; only an
// address we made reverses, and what it gives is an address.
#include <cstdint>
#include <string>
#include <string_view>

#include "srs.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static quail::ListSecret key = quail::ListSecret::from_bytes(std::string(32, 'k')).value();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string original;
  if (quail::srs_reverse(key, in, 1700000000, &original) == quail::SrsCheck::good) {
    if (original.find('@') == std::string::npos) __builtin_trap();
  }
  return 0;
}
