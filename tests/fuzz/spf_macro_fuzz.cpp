// Fuzzes lib/spf_macro: a macro-string from a record, expanded with every letter;
// what a domain-spec expands to always fits a query once fit_domain has cut it.
#include <cstdint>
#include <string>
#include <string_view>

#include "spf_macro.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  quail::spf::MacroContext c;
  c.sender = "strong-bad@email.example.com";
  c.local_part = "strong-bad";
  c.sender_domain = c.domain = "email.example.com";
  c.ip = *quail::spf::IpAddress::parse("2001:db8::cb01");
  c.helo = "mx.example.org";
  c.receiver = "mx.us.test";
  c.validated_name = [] { return std::string("host.example.com"); };
  for (bool exp : {false, true}) {
    auto out = quail::spf::expand_macros(in, c, exp);
    if (out && quail::spf::valid_macro_string(in, exp) != true && !exp) __builtin_trap();
    if (out && quail::spf::fit_domain(*out).size() > 253) __builtin_trap();
  }
  return 0;
}
