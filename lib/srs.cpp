// SRS0 addresses: see srs.hpp.
#include "srs.hpp"

namespace quail {
namespace {

constexpr std::string_view prefix = "srs0=";
constexpr std::string_view action = "srs";

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

std::string srs_forward(const ListSecret& key, std::string_view sender, std::string_view forwarder_domain, int64_t now) {
  if (sender.empty()) return "";
  std::string original = lower(sender);
  return "SRS0=" + make_cookie(key, action, original, now) + "=" + encode_address(original) + "@" +
         lower(forwarder_domain);
}

SrsCheck srs_reverse(const ListSecret& key, std::string_view local_part, int64_t now, std::string* original) {
  if (local_part.size() < prefix.size() || lower(local_part.substr(0, prefix.size())) != prefix) {
    return SrsCheck::not_srs;
  }
  std::string_view rest = local_part.substr(prefix.size());
  if (rest.size() < cookie_length + 2 || rest[cookie_length] != '=') return SrsCheck::forged;
  auto addr = decode_address(rest.substr(cookie_length + 1));
  if (!addr) return SrsCheck::forged;
  switch (check_cookie(key, action, *addr, rest.substr(0, cookie_length), now, srs_lifetime)) {
    case CookieCheck::good:
      if (original) *original = *addr;
      return SrsCheck::good;
    case CookieCheck::expired: return SrsCheck::expired;
    case CookieCheck::forged: return SrsCheck::forged;
  }
  return SrsCheck::forged;
}

}  // namespace quail
