// Fuzzes lib/tcprules: the rules-file compiler (admin text), the cdb value
// decoder (a file anyone with write access to control/ could damage) and the
// address parser, checking that what each accepts round-trips.
#include <cstdint>
#include <string_view>

#include "tcprules.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto recs = quail::compile_rules(in, "fuzz"); recs.ok()) {
    for (const auto& [key, value] : *recs) {
      auto rule = quail::decode_rule(value);
      if (!rule.ok() || quail::encode_rule(*rule) != value) __builtin_trap();
      // A whole address is stored exactly as tcpserver will look it up.
      if (!key.empty() && key.back() != '.' && key.back() != ':') {
        auto ip = quail::parse_ip(key);
        if (!ip || quail::ip_rule_key(*ip) != key) __builtin_trap();
      }
    }
  }
  if (auto rule = quail::decode_rule(in); rule.ok() && quail::encode_rule(*rule) != in) __builtin_trap();
  if (auto ip = quail::parse_ip(in)) {
    auto again = quail::parse_ip(quail::ip_text(*ip));
    if (!again || !(*again == *ip) || quail::rule_keys(*ip).back() != "") __builtin_trap();
  }
  return 0;
}
