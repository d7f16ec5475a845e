// Fuzzes queue-inject's databytes count (bin-src/queue-inject/message_size): the
// count does not depend on how reads split the message, never exceeds the octets
// given, and leaves at most 64 KiB (plus one undecided field name) uncounted.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "../../bin-src/queue-inject/message_size.cpp"

using quail::queue_inject::MessageSize;
using quail::queue_inject::uncounted_trace_max;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first octet picks the piece size; the rest is the message.
  size_t step = 1 + data[0] % 17;
  std::string_view msg(reinterpret_cast<const char*>(data + 1), size - 1);
  MessageSize whole(0), pieces(0);
  whole.add(msg);
  for (size_t i = 0; i < msg.size(); i += step) pieces.add(msg.substr(i, step));
  if (whole.counted() != pieces.counted()) std::abort();
  if (whole.counted() > msg.size()) std::abort();
  if (msg.size() > uncounted_trace_max + 13 && whole.counted() < msg.size() - uncounted_trace_max - 13) std::abort();
  // A limit at the count accepts; one below refuses.
  MessageSize at(whole.counted() == 0 ? 0 : whole.counted());
  if (!at.add(msg)) std::abort();
  if (whole.counted() > 1) {
    MessageSize below(whole.counted() - 1);
    if (below.add(msg)) std::abort();
  }
  return 0;
}
