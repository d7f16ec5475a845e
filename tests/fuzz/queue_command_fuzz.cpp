// libFuzzer harness for parse_queue_command and parse_message_id (lib/queue_command,
// lib/queue_id): a command queue-send accepts formats back to the same bytes, and
// an id that parses is the id of the inode and birth it names.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "queue_command.hpp"
#include "queue_id.hpp"

namespace {
void require(bool cond) {
  if (!cond) std::abort();
}
std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto c = quail::parse_queue_command(in)) {
    std::string again = quail::format_queue_command(*c);
    auto c2 = quail::parse_queue_command(again);
    require(c2.has_value() && quail::format_queue_command(*c2) == again);
    require(c->all + !c->domain.empty() + !c->id.empty() == 1);
  }
  std::string_view line = in.substr(0, in.find('\n'));
  if (auto p = quail::parse_message_id(line)) {
    require(quail::message_id(p->inode, p->birth_ns) == lower(line));
  }
  return 0;
}
