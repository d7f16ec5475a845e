// Fuzzes lib/milter_wire over what a filter may send: the packet stream, each
// reply, the option negotiation answer and replycode texts.
#include <cstdint>
#include <string_view>

#include "milter_wire.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  quail::milter::PacketReader r;
  // Fed in two pieces, as reads may split it.
  r.feed(in.substr(0, size / 2));
  for (int round = 0; round < 2; ++round) {
    for (;;) {
      auto p = r.next();
      if (!p || !*p) break;
      if ((*p)->data.size() + 1 > quail::milter::max_packet) __builtin_trap();
      if ((*p)->code == 'O') {
        (void)quail::milter::parse_optneg((*p)->data);
        continue;
      }
      auto reply = quail::milter::parse_reply(**p);
      if (!reply) continue;
      for (char c : reply->name) {
        if (c == ':' || static_cast<unsigned char>(c) <= 32) __builtin_trap();
      }
      if (reply->value.find('\0') != std::string::npos) __builtin_trap();
      if (reply->kind == quail::milter::ReplyKind::replycode && (reply->code < 400 || reply->code > 599)) __builtin_trap();
      for (char c : reply->text) {
        if (static_cast<unsigned char>(c) < 32) __builtin_trap();
      }
    }
    r.feed(in.substr(size / 2));
  }
  return 0;
}
