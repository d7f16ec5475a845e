// libFuzzer harness for parse_address / parse_path / valid_domain (lib/address).
// Beyond "no crash", checks invariants an accepted Address must keep.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "address.hpp"

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

// An accepted address is within the limits, its domain lowercase, and (outside the
// known literal issue below) its text form parses back to the same address.
void check_address(const quail::Address& a, bool utf8) {
  if (a.null()) return;
  require(!a.local().empty() && a.local().size() <= quail::max_local_part);
  require(!a.domain().empty() && a.domain().size() <= quail::max_domain);
  require(a.domain() == quail::lowercase(a.domain()));
  require(a.str().size() <= quail::max_path);
  auto again = quail::parse_address(a.str(), utf8);
  require(again.ok() && again.value() == a);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto strict = quail::parse_address(in, false);
  auto utf8 = quail::parse_address(in, true);
  if (strict.ok()) {
    check_address(strict.value(), false);
    require(utf8.ok() && utf8.value() == strict.value());  // UTF-8 mode only widens
  }
  if (utf8.ok()) check_address(utf8.value(), true);

  for (bool allow_null : {false, true}) {
    for (bool u : {false, true}) {
      bool route = false;
      auto p = quail::parse_path(in, allow_null, u, &route);
      if (!p.ok()) continue;
      require(allow_null || !p.value().null());
      check_address(p.value(), u);
      require(in.size() >= 2 && in.front() == '<' && in.back() == '>');
      if (!p.value().null() && !route) {
        // Without a route the path is exactly <mailbox>.
        auto inner = quail::parse_address(in.substr(1, in.size() - 2), u);
        require(inner.ok() && inner.value() == p.value());
      }
    }
  }
  (void)quail::valid_domain(in, false);
  (void)quail::valid_domain(in, true);
  return 0;
}
