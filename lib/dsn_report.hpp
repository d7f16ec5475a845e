// The one builder of delivery status notifications: RFC 3464 multipart/report
// (RFC 6522) for every action (failed, delayed, delivered, relayed, expanded),
// with RFC 6533's utf-8 address types and message/global parts when the
// addresses or the original need them. Cleans every text it puts in a field.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace quail {

enum class DsnAction : uint8_t { failed, delayed, delivered, relayed, expanded };
// "failed", "delayed", ... as RFC 3464 2.3.3 spells them.
std::string_view dsn_action_name(DsnAction a);

struct DsnRecipient {
  std::string address;
  std::string orcpt;   // DSN ORCPT as given ("rfc822;bob@example.test", xtext), or ""
  std::string reason;  // failed: ends in "(#5.x.y)"; delayed: the last temporary reason
  DsnAction action = DsnAction::failed;
};

// What of the original a notice carries (RFC 3461 4.3: RET for failures; a
// delay or success report carries the header section only).
enum class DsnContent : uint8_t { full, headers };

struct DsnSpec {
  std::string me;            // control/me: Reporting-MTA
  std::string from;          // bouncefrom@me
  std::string to;            // the notice's recipient (header To:)
  std::string envid;         // DSN ENVID (xtext) or ""
  std::string boundary;      // unique, never inside the original
  std::string message_id;    // without angle brackets
  int64_t arrival = 0;       // unix time the original was queued
  int64_t now = 0;           // unix time of the notice
  int64_t retry_until = 0;   // delayed: unix time of the last attempt (Will-Retry-Until), 0 none
  DsnContent content = DsnContent::full;
  bool double_bounce = false;
  bool utf8_original = false;  // SMTPUTF8, or 8-bit bytes in the header section: message/global
  bool eight_bit = false;      // the returned content has bytes >= 0x80
  std::vector<DsnRecipient> recipients;  // all of one kind: failed, delayed, or delivered/relayed
};

// The notice is `head`, then the original message (or only its header section),
// then `tail`; LF line ends, as the queue stores messages. Streaming the original
// between the two keeps a large message out of memory.
struct DsnText {
  std::string head;
  std::string tail;
};
DsnText build_dsn(const DsnSpec& spec);

}  // namespace quail
