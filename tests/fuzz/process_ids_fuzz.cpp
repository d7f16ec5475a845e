// libFuzzer harness for lib/process_ids, the -u and -g of tcpserver and
// mailauth -d: whatever the text, a list is accepted only when it prints back
// as the same comma-joined decimals (leading zeros aside), within the limits.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "process_ids.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  if (auto uid = quail::parse_uid(s)) {
    if (*uid > 0x7fffffffu || s.empty() || s.find_first_not_of("0123456789") != std::string_view::npos) std::abort();
  }
  auto gids = quail::parse_gids(s);
  if (!gids) return 0;
  if (gids->empty() || gids->size() > quail::max_groups) std::abort();
  size_t at = 0;
  for (size_t i = 0; i < gids->size(); ++i) {
    size_t end = s.find(',', at);
    std::string_view part = s.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    auto one = quail::parse_uid(part);
    if (!one || *one != (*gids)[i]) std::abort();
    if ((end == std::string_view::npos) != (i + 1 == gids->size())) std::abort();
    at = end + 1;
  }
  return 0;
}
