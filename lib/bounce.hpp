// Bounces: where a delivery status notice goes (null sender, double bounce, VERP)
// and the DSN values it is made of (NOTIFY, xtext, RFC 3463 status, the remote
// reply in a reason); lib/dsn_report builds the notice. Trusts its inputs to be a
// parsed envelope and reasons from our own delivery programs; cleans them anyway.
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

// The DSN NOTIFY of one recipient as bits. "" (no NOTIFY) gives failure and delay:
// RFC 3461 4.1 leaves the default to us (see man/queue-send.8). NEVER gives none.
inline constexpr uint8_t notify_success = 1, notify_failure = 2, notify_delay = 4;
uint8_t notify_flags(std::string_view notify);

// The RFC 3463 status of a reason ending in "(#c.s.d)" with its class set to
// `cls` ('2', '4' or '5'); `fallback` when it has none.
std::string dsn_status_as(std::string_view reason, char cls, std::string_view fallback);

// Parts of a reason from a remote server, for the DSN's Remote-MTA and
// Diagnostic-Code: "<host> [<ip>] ...: 550 5.1.1 no such user (#5.1.1)" gives host
// "<host>" and reply "550 5.1.1 no such user (#5.1.1)"; "" for what it lacks.
struct RemoteReply {
  std::string host;
  std::string reply;
};
RemoteReply remote_reply(std::string_view reason);

}  // namespace quail
