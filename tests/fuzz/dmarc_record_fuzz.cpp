// Fuzzes lib/dmarc's record parser and From-field domains: any TXT record at a
// _dmarc name, any header section; an accepted record has a pct of 0..100.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth_results.hpp"
#include "dmarc.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto r = quail::dmarc::parse_record(in)) {
    if (r->pct < 0 || r->pct > 100) __builtin_trap();
  }
  std::vector<std::string> domains;
  (void)quail::dmarc::from_domains(in, domains);
  for (auto [off, len] : quail::forged_fields(in, "mx.us.test")) {
    if (off + len > size) __builtin_trap();
  }
  return 0;
}
