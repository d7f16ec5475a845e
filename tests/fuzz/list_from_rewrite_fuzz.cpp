// Fuzzes lib/list_dmarc's From rewrite on any header section: the result parses
// again as a header, holds exactly one From field, and that field names the
// list's address alone (a post cannot smuggle a second author or field through
// its display name).
#include <cstdint>
#include <string>
#include <string_view>

#include "headers.hpp"
#include "list_dmarc.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  quail::ListConfig cfg;
  cfg.address = "team@lists.test";
  cfg.owner = "alice@lists.test";
  cfg.root = "/r";
  (void)quail::list::authors(in);
  auto fields = quail::parse_header(in);
  if (!fields) return 0;
  std::string out;
  for (const auto& f : quail::list::rewrite_from(cfg, *fields, "ann@strict.test")) out += f.raw;
  auto again = quail::parse_header(out);
  if (!again) __builtin_trap();
  int froms = 0;
  for (const auto& f : *again) {
    if (!f.is("From")) continue;
    ++froms;
    auto boxes = quail::parse_address_list(f.value());
    if (!boxes || boxes->size() != 1 || (*boxes)[0].address != cfg.address) __builtin_trap();
  }
  if (froms != 1) __builtin_trap();
  return 0;
}
