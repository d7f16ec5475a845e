// libFuzzer harness for parse_envelope (lib/envelope, queue-layout/envelope.md):
// an accepted envelope must serialize to bytes that parse again to the same value.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "envelope.hpp"

namespace {
void require(bool cond) {
  if (!cond) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto e = quail::parse_envelope(in);
  if (!e.ok()) {
    require(e.error().kind == quail::ErrorKind::format || e.error().kind == quail::ErrorKind::too_long);
    return 0;
  }
  require(!e.value().recipients.empty());
  require(e.value().sender.size() <= quail::max_envelope_address);
  for (const auto& r : e.value().recipients) {
    require(!r.address.empty() && r.address.size() <= quail::max_envelope_address);
  }
  std::string bytes = quail::serialize_envelope(e.value());
  require(bytes.size() <= in.size());  // canonical form drops only empty values
  auto again = quail::parse_envelope(bytes);
  require(again.ok());
  require(again.value() == e.value());
  require(quail::serialize_envelope(again.value()) == bytes);
  return 0;
}
