// libFuzzer harness for parse_queue_header (lib/queue_file, queue-layout/README.md):
// an accepted header is exactly what format_queue_header writes for its values;
// also valid_queue_id, which guards every path built from an id, and parse_tmp_name,
// which ages tmp/ files: an accepted name is exactly "<pid>.<birth>" written back.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "queue_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (quail::valid_queue_id(in)) {
    // A queue id names a file in todo/: digits only, so never "..", "/" or empty.
    if (in.empty() || in.front() == '0') std::abort();
    for (char c : in) {
      if (c < '0' || c > '9') std::abort();
    }
  }
  if (auto t = quail::parse_tmp_name(in)) {
    if (t->pid <= 0 || t->birth_ns < 0) std::abort();
    if (std::to_string(t->pid) + "." + std::to_string(t->birth_ns) != in) std::abort();
  }
  // An id is one inode number: it reads back to its own spelling.
  if (auto id = quail::parse_queue_id(in); id && std::to_string(*id) != in) std::abort();
  auto h = quail::parse_queue_header(in);
  if (!h.ok()) return 0;
  // No length or time read from a header can wrap an offset or a schedule.
  if (h->message_length > static_cast<uint64_t>(INT64_MAX) - quail::queue_header_size) std::abort();
  if (h->birth_ns < 0 || h->birth_ns > quail::max_queue_time_ns) std::abort();
  if (in.size() < quail::queue_header_size) std::abort();
  if (quail::format_queue_header(h.value()) != in.substr(0, quail::queue_header_size)) std::abort();
  return 0;
}
