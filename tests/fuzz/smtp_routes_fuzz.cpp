// Fuzzes lib/smtp_routes: control/smtproutes, tlspolicy, dnsservers and smtpauth
// lines, and the lookups over what they accept.
#include <cstdint>
#include <string>
#include <string_view>

#include "control.hpp"
#include "smtp_routes.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto lines = quail::parse_control_lines(in, "fuzz", false);
  if (!lines) return 0;
  if (auto r = quail::parse_smtproutes(*lines, "fuzz"); r.ok()) {
    for (const auto& route : *r) {
      const quail::SmtpRoute* found = quail::find_route(*r, route.domain.empty() ? "x.test" : route.domain);
      if (!found) __builtin_trap();
      if (route.relay && route.relay->port == 0) __builtin_trap();
    }
  }
  if (auto p = quail::parse_tlspolicy(*lines, "fuzz"); p.ok()) {
    for (const auto& t : *p) (void)quail::find_tls_mode(*p, t.domain);
  }
  (void)quail::parse_dnsservers(*lines, "fuzz");
  if (auto a = quail::parse_smtpauth(*lines, "fuzz"); !a.ok()) {
    // An error never quotes the line (it may hold a password): after "fuzz:N: "
    // comes one of the fixed texts.
    std::string_view why = a.error().reason;
    size_t colon = why.find(": ");
    if (colon == std::string_view::npos) __builtin_trap();
    why.remove_prefix(colon + 2);
    if (why != "expected relay:user:password" && why != "not a host or [address]" && why != "empty user or password") {
      __builtin_trap();
    }
  }
  (void)quail::parse_relay_host(in, true);
  return 0;
}
