// Keys of the abuse-control store: see abuse_keys.hpp.
#include "abuse_keys.hpp"

#include <arpa/inet.h>
#include <cstring>

#include "address.hpp"

namespace quail {
namespace {

constexpr size_t max_address_in_key = 180;  // two of them and a network stay under max_store_key

std::optional<std::string> network_of(std::string_view ip, int& bits) {
  std::string s(ip);
  unsigned char a[16];
  char out[INET6_ADDRSTRLEN];
  if (::inet_pton(AF_INET, s.c_str(), a) == 1) {
    a[3] = 0;
    bits = 24;
    ::inet_ntop(AF_INET, a, out, sizeof out);
    return std::string(out) + "/24";
  }
  if (::inet_pton(AF_INET6, s.c_str(), a) == 1) {
    std::memset(a + 8, 0, 8);
    bits = 64;
    ::inet_ntop(AF_INET6, a, out, sizeof out);
    return std::string(out) + "/64";
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> grey_network(std::string_view ip) {
  int bits;
  return network_of(ip, bits);
}

std::optional<std::string> parse_grey_network(std::string_view text) {
  size_t slash = text.find('/');
  int bits = 0;
  auto net = network_of(text.substr(0, slash), bits);
  if (!net) return std::nullopt;
  if (slash != std::string_view::npos && text.substr(slash + 1) != std::to_string(bits)) return std::nullopt;
  return net;
}

std::string grey_triplet_key(std::string_view network, std::string_view sender, std::string_view recipient) {
  return std::string(grey_triplet_prefix) + std::string(network) + " " +
         lowercase(sender.substr(0, max_address_in_key)) + " " + lowercase(recipient.substr(0, max_address_in_key));
}

std::string grey_allow_key(std::string_view network) { return std::string(grey_allow_prefix) + std::string(network); }

std::string_view limit_kind_name(LimitKind k) {
  switch (k) {
    case LimitKind::connections: return "connections";
    case LimitKind::messages: return "messages";
    case LimitKind::recipients: return "recipients";
  }
  return "?";
}

int64_t limit_window(LimitKind k) { return k == LimitKind::connections ? 60 : 3600; }

std::string limit_key(LimitKind k, bool user, std::string_view who, int64_t now) {
  return std::string(limit_prefix) + std::string(limit_kind_name(k)) + (user ? ":u:" : ":a:") +
         lowercase(who.substr(0, max_address_in_key)) + ":" + std::to_string(now / limit_window(k));
}

std::optional<LimitKey> parse_limit_key(std::string_view key) {
  if (key.substr(0, limit_prefix.size()) != limit_prefix) return std::nullopt;
  key.remove_prefix(limit_prefix.size());
  LimitKey out;
  bool found = false;
  for (auto k : {LimitKind::connections, LimitKind::messages, LimitKind::recipients}) {
    std::string head = std::string(limit_kind_name(k)) + ":";
    if (key.substr(0, head.size()) == head) {
      out.kind = k;
      key.remove_prefix(head.size());
      found = true;
    }
  }
  if (!found || key.size() < 4 || (key.substr(0, 2) != "a:" && key.substr(0, 2) != "u:")) return std::nullopt;
  out.user = key[0] == 'u';
  key.remove_prefix(2);
  size_t colon = key.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view n = key.substr(colon + 1);
  if (n.empty() || n.size() > 15 || n.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  out.who = std::string(key.substr(0, colon));
  out.window_start = std::stoll(std::string(n)) * limit_window(out.kind);
  return out;
}

}  // namespace quail
