// Bounces: where a delivery failure notice goes (null sender, double bounce, VERP)
// and what it says (RFC 3464 multipart/report, RFC 3462/6522). Trusts its inputs to
// be a parsed envelope and reasons from our own delivery programs; cleans them anyway.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace quail {

// The envelope sender queue-inject writes for a double bounce (qmail's convention).
inline constexpr std::string_view double_bounce_sender = "#@[]";

enum class BounceKind { bounce, double_bounce, drop };

struct BounceRoute {
  BounceKind kind = BounceKind::bounce;
  std::string envelope_sender;  // "" for a bounce, "#@[]" for a double bounce
  std::string recipient;        // the original sender, or doublebounceto@me
};
// Where the notice for a message from `sender` goes: a bounce to the sender; a
// double bounce to doublebounceto@me when the sender is "" (a bounce failed); a
// drop when the sender is "#@[]" (a double bounce failed), so nothing loops.
BounceRoute bounce_route(std::string_view sender, std::string_view me, std::string_view doublebounceto);

// qmail's VERP: a sender "prefix-@domain-@[]" gives recipient local@host the return
// path "prefix-local=host@domain". Any other sender is returned unchanged.
std::string verp_return_path(std::string_view sender, std::string_view recipient);

// The RFC 3463 status of a reason ending in "(#c.s.d)"; `fallback` when it has none.
// A permanent failure is reported with class 5 even when the reason said 4 (expiry).
std::string dsn_status(std::string_view reason, std::string_view fallback = "5.0.0");
// True when the DSN NOTIFY value asks for a failure notice ("" is the default: yes).
bool notify_on_failure(std::string_view notify);
// Decodes RFC 3461 xtext ("+2B" -> "+"); "" when malformed or not printable.
std::string xtext_decode(std::string_view xtext);
// The header section of a message with LF line ends, through its blank line.
std::string_view message_headers(std::string_view message);

struct BounceRecipient {
  std::string address;
  std::string orcpt;   // DSN ORCPT as given ("rfc822;bob@example.test", xtext), or ""
  std::string reason;  // ends in "(#5.x.y)"
};

struct BounceSpec {
  std::string me;            // control/me: Reporting-MTA
  std::string from;          // bouncefrom@me
  std::string to;            // the bounce's recipient (header To:)
  std::string envid;         // DSN ENVID (xtext) or ""
  std::string boundary;      // unique, never inside the original
  std::string message_id;    // without angle brackets
  int64_t arrival = 0;       // unix time the original was queued
  int64_t now = 0;           // unix time of the notice
  bool headers_only = false; // RET=HDRS: text/rfc822-headers instead of message/rfc822
  bool double_bounce = false;
  std::vector<BounceRecipient> failed;
};

// The notice is `head`, then the original message (or only its headers), then
// `tail`; LF line ends, as the queue stores messages. Streaming the original
// between the two keeps a large message out of memory.
struct BounceText {
  std::string head;
  std::string tail;
};
BounceText build_bounce(const BounceSpec& spec);

}  // namespace quail
