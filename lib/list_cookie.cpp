// List command addresses and cookies: see list_cookie.hpp.
#include "list_cookie.hpp"

#include <sodium.h>

#include "address.hpp"

namespace quail {
namespace {

constexpr std::string_view alphabet = "abcdefghijklmnopqrstuvwxyz234567";  // RFC 4648 base32, lowercased
constexpr size_t time_chars = 7;   // 35 bits of seconds: until the year 3058
constexpr size_t mac_bytes = 8;
constexpr size_t mac_chars = 13;   // 65 bits

std::string base32(const unsigned char* p, size_t n, size_t chars) {
  std::string out;
  uint64_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n && out.size() < chars; ++i) {
    acc = (acc << 8) | p[i];
    bits += 8;
    while (bits >= 5 && out.size() < chars) {
      out += alphabet[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0 && out.size() < chars) out += alphabet[(acc << (5 - bits)) & 31];
  return out;
}

std::string time_text(int64_t when) {
  std::string out(time_chars, 'a');
  uint64_t v = static_cast<uint64_t>(when);
  for (size_t i = time_chars; i-- > 0; v >>= 5) out[i] = alphabet[v & 31];
  return out;
}

bool time_value(std::string_view text, int64_t* when) {
  int64_t v = 0;
  for (char c : text) {
    size_t d = alphabet.find(c);
    if (d == std::string_view::npos) return false;
    v = v * 32 + static_cast<int64_t>(d);
  }
  *when = v;
  return true;
}

std::string mac_text(const ListSecret& key, std::string_view action, std::string_view address, std::string_view t) {
  std::string input = std::string(action) + '\0' + lowercase(address) + '\0' + std::string(t);
  unsigned char mac[crypto_auth_BYTES];
  crypto_auth(mac, reinterpret_cast<const unsigned char*>(input.data()), input.size(),
              reinterpret_cast<const unsigned char*>(key.bytes().data()));
  return base32(mac, mac_bytes + 1, mac_chars);
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// "<cookie>-<local=domain>" after a prefix such as "sc.".
bool cookie_and_address(std::string_view rest, ListCommand& cmd) {
  if (rest.size() < cookie_length + 2 || rest[cookie_length] != '-') return false;
  auto a = decode_address(rest.substr(cookie_length + 1));
  if (!a) return false;
  cmd.cookie = rest.substr(0, cookie_length);
  cmd.address = *a;
  return true;
}

}  // namespace

ListSecret::ListSecret(ListSecret&& o) noexcept : key_(o.key_) { sodium_memzero(o.key_.data(), o.key_.size()); }
ListSecret::~ListSecret() { sodium_memzero(key_.data(), key_.size()); }

Result<ListSecret> ListSecret::from_bytes(std::string_view bytes) {
  if (bytes.size() != size) return Error{ErrorKind::format, "the list secret is not 32 bytes long"};
  ListSecret s;
  std::copy(bytes.begin(), bytes.end(), s.key_.begin());
  return s;
}

ListSecret ListSecret::random() {
  ListSecret s;
  randombytes_buf(s.key_.data(), s.key_.size());
  return s;
}

std::string make_cookie(const ListSecret& key, std::string_view action, std::string_view address, int64_t when) {
  std::string t = time_text(when);
  return t + mac_text(key, action, address, t);
}

CookieCheck check_cookie(const ListSecret& key, std::string_view action, std::string_view address,
                         std::string_view cookie, int64_t now, int64_t lifetime, int64_t* issued) {
  if (cookie.size() != cookie_length) return CookieCheck::forged;
  std::string lower = lowercase(cookie);
  std::string_view t = std::string_view(lower).substr(0, time_chars);
  int64_t when = 0;
  if (!time_value(t, &when)) return CookieCheck::forged;
  std::string want = mac_text(key, action, address, t);
  if (sodium_memcmp(want.data(), lower.data() + time_chars, mac_chars) != 0) return CookieCheck::forged;
  if (when > now + 3600 || now - when > lifetime) return CookieCheck::expired;
  if (issued) *issued = when;
  return CookieCheck::good;
}

std::string encode_address(std::string_view address) {
  std::string a = lowercase(address);
  size_t at = a.rfind('@');
  if (at != std::string::npos) a[at] = '=';
  return a;
}

Result<std::string> decode_address(std::string_view encoded) {
  size_t eq = encoded.rfind('=');
  if (eq == std::string_view::npos || eq == 0) return Error{ErrorKind::format, "no local=domain address"};
  std::string text = lowercase(encoded.substr(0, eq)) + "@" + lowercase(encoded.substr(eq + 1));
  auto a = parse_address(text, false);
  if (!a) return a.error();
  if (a->quoted()) return Error{ErrorKind::format, "a quoted local part cannot be a subscriber"};
  return a->str();
}

bool valid_held_id(std::string_view id) {
  size_t dot = id.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot > 12 || id.size() != dot + 9) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool ok = i < dot ? (c >= '0' && c <= '9') : i == dot ? c == '.' : ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    if (!ok) return false;
  }
  return true;
}

ListCommand parse_list_command(std::string_view raw) {
  std::string ext = lowercase(raw);
  std::string_view e = ext;
  ListCommand cmd;
  if (e.empty()) {
    cmd.kind = ListCommandKind::post;
  } else if (e == "subscribe" || e == "digest-subscribe") {
    cmd.kind = ListCommandKind::subscribe;
    cmd.digest = e[0] == 'd';
  } else if (e == "unsubscribe" || e == "digest-unsubscribe") {
    cmd.kind = ListCommandKind::unsubscribe;
    cmd.digest = e[0] == 'd';
  } else if (starts_with(e, "sc.") || starts_with(e, "uc.") || starts_with(e, "dsc.") || starts_with(e, "duc.")) {
    bool digest = e[0] == 'd';
    std::string_view rest = e.substr(digest ? 4 : 3);
    if (cookie_and_address(rest, cmd)) {
      cmd.kind = e[digest ? 1 : 0] == 's' ? ListCommandKind::confirm_subscribe : ListCommandKind::confirm_unsubscribe;
      cmd.digest = digest;
    } else {
      cmd = ListCommand{};
    }
  } else if (starts_with(e, "oc.")) {
    if (cookie_and_address(e.substr(3), cmd)) {
      cmd.kind = ListCommandKind::one_click;
    } else {
      cmd = ListCommand{};
    }
  } else if (starts_with(e, "get.") && e.size() > 4 && e.size() <= 4 + 18 &&
             e.find_first_not_of("0123456789", 4) == std::string_view::npos) {
    cmd.kind = ListCommandKind::get;
    for (char c : e.substr(4)) cmd.number = cmd.number * 10 + static_cast<uint64_t>(c - '0');
  } else if (starts_with(e, "accept.") || starts_with(e, "reject.")) {
    std::string_view rest = e.substr(7);
    if (rest.size() > cookie_length + 1 && rest[cookie_length] == '-' && valid_held_id(rest.substr(cookie_length + 1))) {
      cmd.kind = e[0] == 'a' ? ListCommandKind::moderate_accept : ListCommandKind::moderate_reject;
      cmd.cookie = rest.substr(0, cookie_length);
      cmd.held = rest.substr(cookie_length + 1);
    }
  } else if (starts_with(e, "return-")) {
    std::string_view rest = e.substr(7);
    cmd.kind = ListCommandKind::return_other;
    // return-d<k>-<addr> and return-dp.<cookie>-<addr>: the same for a digest and its subscribers.
    cmd.digest = !rest.empty() && rest[0] == 'd';
    if (cmd.digest) rest.remove_prefix(1);
    if (starts_with(rest, "p.")) {
      if (cookie_and_address(rest.substr(2), cmd)) cmd.kind = ListCommandKind::probe_bounce;
    } else {
      size_t dash = rest.find('-');
      std::string_view digits = rest.substr(0, dash);
      bool number = dash != std::string_view::npos && !digits.empty() && digits.size() <= 18 &&
                    digits.find_first_not_of("0123456789") == std::string_view::npos;
      if (number) {
        auto a = decode_address(rest.substr(dash + 1));
        if (a) {
          cmd.kind = ListCommandKind::bounce;
          cmd.address = *a;
          for (char c : digits) cmd.number = cmd.number * 10 + static_cast<uint64_t>(c - '0');
        }
      }
    }
    if (cmd.kind == ListCommandKind::return_other) cmd = ListCommand{ListCommandKind::return_other};
  }
  return cmd;
}

}  // namespace quail
