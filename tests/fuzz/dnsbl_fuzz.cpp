// Fuzz harness for lib/dnsbl and lib/abuse_keys: control/dnsbl lines, client
// addresses turned into query names and networks, rate-limit keys read back.
#include <cstddef>
#include <cstdint>
#include <string>

#include "abuse_keys.hpp"
#include "dnsbl.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  if (auto l = quail::parse_dns_list(s)) {
    if (l->zone.empty()) __builtin_trap();
    quail::dnsbl_answer_lists(*l, "127.0.0.2");
  }
  quail::dnsbl_query_name(s, "bl.test");
  if (auto n = quail::parse_grey_network(s)) {
    if (quail::parse_grey_network(*n) != n) __builtin_trap();  // its own form parses to itself
  }
  quail::grey_network(s);
  if (auto k = quail::parse_limit_key(s)) {
    if (k->who.empty()) __builtin_trap();
  }
  return 0;
}
