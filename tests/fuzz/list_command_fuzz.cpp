// libFuzzer harness for the list command addresses and cookies (lib/list_cookie):
// parse_list_command on a stranger's local part, decode_address, check_cookie.
// Beyond "no crash", checks what an accepted command must hold.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "address.hpp"
#include "list_cookie.hpp"

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto cmd = quail::parse_list_command(in);
  using K = quail::ListCommandKind;
  switch (cmd.kind) {
    case K::confirm_subscribe:
    case K::confirm_unsubscribe:
    case K::probe_bounce:
    case K::one_click:
      require(cmd.cookie.size() == quail::cookie_length);
      [[fallthrough]];
    case K::bounce: {
      // A subscriber address is a valid, lowercased local@domain and encodes back.
      auto a = quail::parse_address(cmd.address, false);
      require(a.ok() && a->str() == cmd.address && quail::lowercase(cmd.address) == cmd.address);
      require(quail::decode_address(quail::encode_address(cmd.address)).value() == cmd.address);
      break;
    }
    case K::moderate_accept:
    case K::moderate_reject:
      require(quail::valid_held_id(cmd.held) && cmd.held.find('/') == std::string::npos);
      break;
    case K::post:
      require(in.empty());
      break;
    default:
      require(cmd.address.empty());
  }
  // A good cookie is exactly the one make_cookie gives for its own issue time.
  static const auto key = quail::ListSecret::from_bytes(std::string(32, 'k')).value();
  int64_t issued = 0;
  if (quail::check_cookie(key, "sc", "bob@example.test", in, 1'800'000'000, 864000, &issued) ==
      quail::CookieCheck::good) {
    require(quail::lowercase(in) == quail::make_cookie(key, "sc", "bob@example.test", issued));
  }
  (void)quail::decode_address(in);
  return 0;
}
