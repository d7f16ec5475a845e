// A list's command addresses and the cookies that make them stateless: a cookie
// is the issue time and a keyed MAC (libsodium crypto_auth, HMAC-SHA-512-256,
// truncated to 64 bits) over action, subscriber address and that time, so a
// pending request needs no stored state. Spec: queue-layout/lists.md, "Addresses".
// Every parser here reads what a stranger put in a local part, and is fuzzed.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "result.hpp"

namespace quail {

// The list's 32-byte key (LISTDIR/secret), wiped when dropped.
class ListSecret {
 public:
  ListSecret() = default;
  ListSecret(const ListSecret&) = delete;
  ListSecret& operator=(const ListSecret&) = delete;
  ListSecret(ListSecret&& o) noexcept;
  ~ListSecret();
  static constexpr size_t size = 32;
  // From the file's exact bytes; format error when it is not 32 bytes long.
  static Result<ListSecret> from_bytes(std::string_view bytes);
  // 32 fresh random bytes (randombytes_buf).
  static ListSecret random();
  std::string_view bytes() const { return {reinterpret_cast<const char*>(key_.data()), key_.size()}; }

 private:
  std::array<unsigned char, size> key_{};
};

// A cookie: 7 base32 characters of issue time (seconds) then 13 of MAC: 20 in all.
inline constexpr size_t cookie_length = 20;

// The cookie for (action, address) issued at `when`. address is lowercased first.
std::string make_cookie(const ListSecret& key, std::string_view action, std::string_view address, int64_t when);

enum class CookieCheck { good, forged, expired };
// Checks a cookie against (action, address) at time now: forged when the MAC does
// not match (or the text is not a cookie), expired when older than lifetime or
// issued more than an hour in the future. *issued receives the issue time when good.
CookieCheck check_cookie(const ListSecret& key, std::string_view action, std::string_view address,
                         std::string_view cookie, int64_t now, int64_t lifetime, int64_t* issued = nullptr);

// A subscriber address inside a local part: local=domain (qmail's VERP form),
// lowercased. The inverse splits at the last '=' and validates the address;
// format error when it is not local@domain.
std::string encode_address(std::string_view address);
Result<std::string> decode_address(std::string_view encoded);

enum class ListCommandKind {
  post,                 // the list's own address (no extension after it)
  subscribe,            // subscribe
  unsubscribe,          // unsubscribe
  help,                 // help, or anything this version does not know
  confirm_subscribe,    // sc.<cookie>-<local=domain>
  confirm_unsubscribe,  // uc.<cookie>-<local=domain>
  bounce,               // return-<n>-<local=domain>: a post's copy bounced
  probe_bounce,         // return-p.<cookie>-<local=domain>: a probe bounced
  return_other,         // return-... that is neither: a bounce of the list's own replies
  moderate_accept,      // accept.<cookie>-<held id>
  moderate_reject,      // reject.<cookie>-<held id>
  get,                  // get.<n>: archived post n
  one_click,            // oc.<cookie>-<local=domain>: RFC 8058 one-click unsubscription (from list-httpd)
};

struct ListCommand {
  ListCommandKind kind = ListCommandKind::help;
  std::string cookie;   // confirm_*, probe_bounce, one_click
  std::string address;  // confirm_*, bounce, probe_bounce, one_click: the decoded subscriber address
  uint64_t number = 0;  // bounce, get: the post's number
  std::string held;     // moderate_*: the held post's id
  bool digest = false;  // of the digest: digest-subscribe, dsc., duc., return-d<k>-, return-dp.
};

// A held post's id: "<issue time>.<8 hex digits>"; true when text is one.
bool valid_held_id(std::string_view text);

// What the part of a local part after "<list>-" asks for ("" = a post). Case
// does not matter. A malformed cookie address is help, never an error: the
// sender gets the help text.
ListCommand parse_list_command(std::string_view ext);

}  // namespace quail
