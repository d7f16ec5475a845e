// libFuzzer harness for the control file parsers (lib/control): integers, lines,
// lists and domain lists. Checks that accepted values keep the documented shape.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "address.hpp"
#include "control.hpp"

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

bool clean(std::string_view v) {
  if (v.empty() || v.front() == ' ' || v.front() == '\t' || v.back() == ' ' || v.back() == '\t') return false;
  for (unsigned char c : v) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string file = "control/fuzz";

  auto wide = quail::parse_control_integer(in, file, INT64_MIN, INT64_MAX);
  auto narrow = quail::parse_control_integer(in, file, 1, 1000);
  if (narrow.ok()) require(wide.ok() && wide.value() == narrow.value());
  if (narrow.ok()) require(narrow.value() >= 1 && narrow.value() <= 1000);
  if (!wide.ok()) require(wide.error().reason.rfind(file + ":1: ", 0) == 0);

  auto line = quail::parse_control_line(in, file);
  if (line.ok()) {
    require(clean(line.value()));
    auto again = quail::parse_control_line(line.value(), file);
    require(again.ok() && again.value() == line.value());
  }

  for (bool domains : {false, true}) {
    auto list = quail::parse_control_list(in, file, domains);
    if (!list.ok()) {
      require(list.error().kind == quail::ErrorKind::config);
      require(list.error().reason.rfind(file + ":", 0) == 0);
      continue;
    }
    std::string joined;
    for (const auto& v : list.value()) {
      require(clean(v) && v.front() != '#');
      if (domains) {
        require(v == quail::lowercase(v));
        require(quail::valid_domain(v.front() == '.' ? std::string_view(v).substr(1) : std::string_view(v)));
      }
      joined += v + "\n";
    }
    auto again = quail::parse_control_list(joined, file, domains);
    require(again.ok() && again.value() == list.value());
  }
  return 0;
}
