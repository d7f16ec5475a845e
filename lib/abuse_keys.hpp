// The keys smtpd and the administrator's tools (quail grey, quail limits) share
// in the abuse-control store (lib/state_store): greylisting triplets, allowlisted
// client networks and rate-limit counters. Format: queue-layout/store.md.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace quail {

// A client address's greylisting network: "192.0.2.0/24" or "2001:db8:1:2::/64".
// nullopt when ip is not an IP address.
std::optional<std::string> grey_network(std::string_view ip);
// Parses a network an administrator names ("192.0.2.0/24", "192.0.2.7" meaning
// its /24, the same for IPv6 and /64) into grey_network's form.
std::optional<std::string> parse_grey_network(std::string_view text);

inline constexpr std::string_view grey_triplet_prefix = "grey:t:";
inline constexpr std::string_view grey_allow_prefix = "grey:a:";
// "grey:t:<network> <sender> <recipient>", addresses lowercased and capped so the
// key fits the store's limit.
std::string grey_triplet_key(std::string_view network, std::string_view sender, std::string_view recipient);
std::string grey_allow_key(std::string_view network);

// Rate limits count in fixed windows: connections per minute, messages and
// recipients per hour, per client address ("a") or authenticated user ("u").
enum class LimitKind { connections, messages, recipients };
std::string_view limit_kind_name(LimitKind k);
int64_t limit_window(LimitKind k);  // seconds: 60 or 3600
inline constexpr std::string_view limit_prefix = "rl:";
// "rl:<kind>:<a|u>:<who>:<window number>"
std::string limit_key(LimitKind k, bool user, std::string_view who, int64_t now);

// One limit key taken apart (for quail limits show); nullopt when not one.
struct LimitKey {
  LimitKind kind;
  bool user = false;
  std::string who;
  int64_t window_start = 0;
};
std::optional<LimitKey> parse_limit_key(std::string_view key);

}  // namespace quail
