// Fuzzes the remote job decoder (lib/remote_job), which a remote-deliver run (set-uid
// quail-remote in a system install) applies to what queue-send sends, and the
// report splitter queue-send applies to what remote-deliver writes.
#include <cstdint>
#include <string_view>

#include "remote_job.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto j = quail::decode_job(in); j.ok()) {
    if (j->rcpts.empty() || j->rcpts.size() > quail::remote_job_max_rcpts) __builtin_trap();
    if (j->message_length > static_cast<uint64_t>(INT64_MAX)) __builtin_trap();
    auto again = quail::decode_job(quail::encode_job(*j));
    if (!again.ok() || again->dlv != j->dlv || again->message_length != j->message_length || again->rcpts != j->rcpts) {
      __builtin_trap();
    }
  }
  for (size_t n : {size_t{0}, size_t{1}, size_t{3}}) {
    size_t len = quail::remote_report_length(in, n);
    if (len > size || (len > 0 && in[len - 1] != '\0')) __builtin_trap();
  }
  return 0;
}
