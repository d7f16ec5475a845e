// Fuzzes lib/headers: the header/body split, the field parser and the address-list
// parser, which sendmail -t (and later smtpd, list tools) run on outside input.
// Checks the invariants the callers rely on, not just the absence of crashes.
#include <cstdint>
#include <string>
#include <string_view>

#include "headers.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  // The split cuts inside the input, and its header section always parses.
  auto split = quail::split_message(in);
  if (split.header_end > split.body_start || split.body_start > in.size()) __builtin_trap();
  auto fields = quail::parse_header(in.substr(0, split.header_end));
  if (!fields.ok()) __builtin_trap();
  std::string joined;
  for (const auto& f : *fields) {
    joined += f.raw;
    if (f.name.empty() || f.value().find('\n') != std::string::npos) __builtin_trap();
    (void)quail::parse_address_list(f.value());
  }
  if (joined != in.substr(0, split.header_end)) __builtin_trap();  // raw fields lose no byte

  // Whatever parses can be written back and parses to the same mailboxes.
  if (auto boxes = quail::parse_address_list(in); boxes.ok()) {
    for (const auto& b : *boxes) {
      if (b.address.empty() || b.end == 0 || b.end > in.size()) __builtin_trap();
      auto again = quail::parse_address_list(quail::format_mailbox(b.display_name, b.address));
      if (!again.ok() || again->size() != 1) __builtin_trap();
      if ((*again)[0].address != b.address) __builtin_trap();
    }
  }
  return 0;
}
