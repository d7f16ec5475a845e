// libFuzzer harness for parse_forward_file / parse_forward_item (lib/forward_file).
// Every accepted item must read back from its own text unchanged.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "forward_file.hpp"

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

void check_item(quail::ForwardItem item) {
  require(!item.value.empty());
  require(item.value.find('\n') == std::string::npos && item.value.find('\0') == std::string::npos);
  auto again = quail::parse_forward_item(quail::forward_item_text(item));
  require(again.ok());
  again.value().lineno = item.lineno;
  require(again.value() == item);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto file = quail::parse_forward_file(in, ".forward");
  if (file.ok()) {
    for (const auto& item : file.value()) check_item(item);
  } else {
    require(file.error().reason.rfind(".forward:", 0) == 0);
  }
  auto one = quail::parse_forward_item(in);
  if (one.ok()) check_item(one.value());
  return 0;
}
