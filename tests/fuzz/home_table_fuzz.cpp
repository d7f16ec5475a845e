// libFuzzer harness for lib/home_table's entry codec: the home table is written
// by root, but smtpd trusts nothing it reads. A decoded entry re-encodes to the
// very same bytes (there is one spelling of each entry), its names are sorted,
// unique .qmail-* names, and a lookup of each one finds it.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "home_table.hpp"

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto e = quail::decode_home_entry(text);
  if (!e) return 0;
  require(quail::encode_home_entry(*e) == text);
  require(e->mtime_nsec >= 0 && e->mtime_nsec <= 999999999 && e->mtime_sec >= 0);
  require(std::adjacent_find(e->files.begin(), e->files.end(),
                             [](const std::string& a, const std::string& b) { return !(a < b); }) == e->files.end());
  for (const auto& f : e->files) {
    require(f.rfind(".qmail-", 0) == 0 && f.size() > 7 && f.find('/') == std::string::npos);
    require(e->has(f));
  }
  return 0;
}
