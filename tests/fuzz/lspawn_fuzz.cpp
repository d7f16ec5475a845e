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
    if (again->dlv != r->dlv || again->message_length != r->message_length) __builtin_trap();
    // local-deliver adds the length to an offset: it must fit an off_t.
    if (r->message_length > static_cast<uint64_t>(INT64_MAX)) __builtin_trap();
  }
  if (auto r = quail::decode_reply(in); r.ok()) {
    if (r->code < 0 || r->code > 255) __builtin_trap();
    auto again = quail::decode_reply(quail::encode_reply(*r));
    if (!again.ok() || again->dlv != r->dlv || again->code != r->code) __builtin_trap();
  }
  return 0;
}
