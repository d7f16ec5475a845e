// libFuzzer harness for the last good configuration's parser (lib/control,
// parse_control_snapshot): run/control.good is only written by quail up and
// quail reload, but a torn or edited file must give a format error, not a crash.
// An accepted snapshot holds names without spaces or newlines and re-serialises
// to the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "control.hpp"

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto files = quail::parse_control_snapshot(in);
  if (!files.ok()) {
    require(files.error().kind == quail::ErrorKind::format);
    return 0;
  }
  std::string again = "quail-control-good 1\n";
  for (const auto& [name, contents] : files.value()) {
    require(!name.empty() && name.find(' ') == std::string::npos && name.find('\n') == std::string::npos);
    again += name + " " + std::to_string(contents.size()) + "\n" + contents;
  }
  // Lengths with leading zeros parse to the same value; only canonical input round-trips.
  if (again.size() == in.size()) require(again == in);
  return 0;
}
