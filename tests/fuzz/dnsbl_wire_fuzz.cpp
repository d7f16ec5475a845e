// libFuzzer harness for lib/dnsbl_wire: a hello that parses is an address made
// of its characters alone and prints back as itself; a verdict that parses has
// printable text and prints back as the same line.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "dnsbl_wire.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  if (auto ip = quail::parse_dnsbl_hello(s)) {
    if (ip->empty() || ip->find_first_not_of("0123456789abcdefABCDEF.:") != std::string::npos) std::abort();
    if (quail::dnsbl_hello(*ip) != s) std::abort();
  }
  if (auto v = quail::parse_dnsbl_verdict(s)) {
    for (char c : v->text) {
      if (c < 0x20 || c >= 0x7f) std::abort();
    }
    if (quail::format_dnsbl_verdict(*v) != std::string(s) + "\n") std::abort();
  }
  std::string line = quail::format_dnsbl_verdict({quail::DnsblAction::refuse, std::string(s)});
  line.pop_back();
  if (!quail::parse_dnsbl_verdict(line)) std::abort();
  return 0;
}
