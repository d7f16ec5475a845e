// Fuzzes the local spawner's request and reply decoders (lib/lspawn), which
// local-spawn runs as root on what an unprivileged scheduler sends.
#include <cstdint>
#include <string_view>

#include "lspawn.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto r = quail::decode_request(in); r.ok()) {
    auto again = quail::decode_request(quail::encode_request(*r));
    if (!again.ok() || again->recipient != r->recipient || again->sender != r->sender) __builtin_trap();
  }
  (void)quail::decode_reply(in);
  return 0;
}
