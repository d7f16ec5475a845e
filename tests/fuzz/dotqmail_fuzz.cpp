// libFuzzer harness for parse_dotqmail / parse_dotqmail_line (lib/dotqmail).
// Beyond "no crash", checks what an accepted line must be.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "dotqmail.hpp"

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

void check_line(const quail::DotQmailLine& l) {
  require(!l.value.empty());
  require(l.value.find('\n') == std::string::npos && l.value.find('\0') == std::string::npos);
  switch (l.kind) {
    case quail::DotQmailKind::program:
      break;
    case quail::DotQmailKind::forward:
      require(quail::valid_forward_address(l.value));
      break;
    case quail::DotQmailKind::mbox:
      require(l.value.front() == '.' || l.value.front() == '/');
      require(l.value.back() != '/');
      break;
    case quail::DotQmailKind::maildir:
      require(l.value.front() == '.' || l.value.front() == '/');
      require(l.value.back() == '/');
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto file = quail::parse_dotqmail(in, ".qmail");
  if (file.ok()) {
    int last = 0;
    for (const auto& l : file.value()) {
      check_line(l);
      require(l.lineno > last);  // in order, one instruction per line
      last = l.lineno;
    }
  } else {
    require(file.error().reason.rfind(".qmail:", 0) == 0);
  }
  auto line = quail::parse_dotqmail_line(in.substr(0, in.find('\n')));
  if (line.ok() && line.value()) check_line(*line.value());
  return 0;
}
