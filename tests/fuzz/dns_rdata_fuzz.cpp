// Fuzzes lib/dns_rdata: MX, address and TXT record data from any DNS server, and
// names in presentation form from c-ares; what is accepted is a clean host name.
#include <cstdint>
#include <string_view>

#include "dns_rdata.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto m = quail::parse_mx_rdata(in)) {
    if (m->preference < 0 || m->preference > 65535 || m->host.size() > size) __builtin_trap();
    for (char c : m->host) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) __builtin_trap();
    }
  }
  (void)quail::decode_dns_name(in);
  // A name as c-ares hands it: what passes is what decode_dns_name would give.
  if (auto n = quail::checked_dns_name(in)) {
    if (n->size() > 253) __builtin_trap();
    for (char c : *n) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) __builtin_trap();
    }
  }
  (void)quail::parse_address_rdata(in);
  if (auto t = quail::parse_txt_rdata(in)) {
    if (t->size() >= size && size > 0) __builtin_trap();  // every string costs a length byte
  }
  return 0;
}
