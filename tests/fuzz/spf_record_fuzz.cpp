// Fuzzes lib/spf_record: any TXT record a domain publishes; a parsed record's
// terms are well formed (CIDR lengths in range, networks of the right family).
#include <cstdint>
#include <string>
#include <string_view>

#include "spf_record.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string why;
  if (auto r = quail::spf::parse_record(in, why)) {
    for (const auto& t : r->terms) {
      if (t.cidr4 < 0 || t.cidr4 > 32 || t.cidr6 < 0 || t.cidr6 > 128) __builtin_trap();
      if (t.kind == quail::spf::MechanismKind::ip4 && (!t.network || t.network->v6)) __builtin_trap();
      if (t.kind == quail::spf::MechanismKind::ip6 && (!t.network || !t.network->v6)) __builtin_trap();
    }
  }
  (void)quail::spf::IpAddress::parse(in);
  return 0;
}
