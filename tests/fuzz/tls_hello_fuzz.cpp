// libFuzzer harness for lib/tls_start's hello to the resident tlsd: what
// parses is an address made of its characters alone, and prints back as the
// same hello; what tls_hello builds from any text always parses.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tls_start.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  if (auto ip = quail::parse_tls_hello(s)) {
    if (ip->find_first_not_of("0123456789abcdefABCDEF.:") != std::string::npos) std::abort();
    if (quail::tls_hello(*ip) != s) std::abort();
  }
  std::string built = quail::tls_hello(s);
  auto back = quail::parse_tls_hello(built);
  if (!back || (*back != s && !back->empty())) std::abort();
  return 0;
}
