// libFuzzer harness for a list's files (lib/list_store parse_bucket, lib/list_config
// parse_list_config): what parses serializes back to the same text.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "list_config.hpp"
#include "list_store.hpp"

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto bucket = quail::parse_bucket(in, "b");
  if (bucket.ok()) {
    // Numbers may carry leading zeros in the input; the canonical text parses to the same records.
    std::string text = quail::serialize_bucket(*bucket);
    auto again = quail::parse_bucket(text, "b");
    require(again.ok() && *again == *bucket);
    for (const auto& s : *bucket) require(quail::bucket_of(s.address) < quail::list_buckets);
  } else {
    require(bucket.error().reason.rfind("b:", 0) == 0);
  }
  auto cfg = quail::parse_list_config(in);
  if (cfg.ok()) {
    auto again = quail::parse_list_config(quail::serialize_list_config(*cfg));
    require(again.ok() && *again == *cfg);
  } else {
    require(cfg.error().reason.rfind("config:", 0) == 0);
  }
  return 0;
}
