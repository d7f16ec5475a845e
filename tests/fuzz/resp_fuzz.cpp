// Fuzz harness for lib/resp: Redis replies read by the store's Redis backend.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "resp.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view buf(reinterpret_cast<const char*>(data), size);
  // Read replies one after another, as the backend does from its buffer.
  for (int i = 0; i < 64 && !buf.empty(); ++i) {
    quail::resp::Value v;
    size_t used = 0;
    if (quail::resp::parse(buf, v, used) != quail::resp::Parse::ok) break;
    if (used == 0 || used > buf.size()) __builtin_trap();
    buf.remove_prefix(used);
  }
  return 0;
}
