// Fuzzes lib/mailauth_wire's frame decoder: what one side of the smtpd/mailauth
// socket may receive; an accepted frame re-encodes to itself.
#include <cstdint>
#include <string_view>

#include "mailauth_wire.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto f = quail::mailauth::decode(in)) {
    if (quail::mailauth::encode(*f) != in) __builtin_trap();
  }
  return 0;
}
