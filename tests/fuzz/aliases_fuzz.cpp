// libFuzzer harness for parse_aliases and the cdb value encoding (lib/aliases).
// Names must be lowercase and unique; values must split back into the same items.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string_view>

#include "address.hpp"
#include "aliases.hpp"

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = quail::parse_aliases(in, "aliases");
  if (!r.ok()) {
    require(r.error().reason.rfind("aliases:", 0) == 0);
    return 0;
  }
  std::set<std::string> names;
  for (const auto& a : r.value()) {
    require(!a.name.empty() && a.name == quail::lowercase(a.name));
    require(names.insert(a.name).second);
    require(!a.items.empty());
    auto texts = quail::split_alias_value(quail::encode_alias_value(a.items));
    require(texts.size() == a.items.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      auto item = quail::parse_forward_item(texts[i]);
      require(item.ok());
      item.value().lineno = a.items[i].lineno;
      require(item.value() == a.items[i]);
    }
  }
  return 0;
}
