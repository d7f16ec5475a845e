// A mailing list's settings: LISTDIR/config, one `name=value` per line, written
// by quail list create and read by every list program. Spec: queue-layout/lists.md.
// The file belongs to the list's owner; it is still parsed strictly (a typo is an
// error naming the line, never a guess).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "result.hpp"

namespace quail {

// When a post's From is replaced by the list's address (lists.md, "Authors whose
// domain publishes DMARC p=reject"): when the author's domain asks for it, always, never.
enum class FromRewrite { dmarc, always, never };

struct ListConfig {
  std::string address;         // the posting address, local@domain ("alice-team@example.test")
  std::string owner;           // where team-owner@ mail and held posts go
  std::string root;            // the quail root whose queue-inject the list uses
  bool moderated = false;      // every post is held for the owner (with members_only: non-members' only)
  bool members_only = false;   // posts from non-subscribers are refused (or held, when moderated)
  bool archive = false;        // each post is kept as LISTDIR/archive/<n>; <list>-get.<n>@ returns it
  bool digest = false;         // posts are also collected for digest subscribers (LISTDIR/digest/)
  bool one_click = false;      // each subscriber gets a copy with an RFC 8058 one-click URL (control/listsurl)
  int64_t digest_size = 65536;     // a digest goes out once its posts reach this many bytes...
  int64_t digest_interval = 86400; // ...or when a post arrives this many seconds after the last digest
  std::string prefix;          // subject prefix ("[team]"), "" for none
  int64_t cookie_lifetime = 10 * 86400;  // seconds a confirmation address stays valid
  int64_t bounce_window = 7 * 86400;     // seconds of bouncing before a subscriber is probed
  FromRewrite from_rewrite = FromRewrite::dmarc;  // from_rewrite=dmarc|always|never
  bool operator==(const ListConfig&) const = default;

  // "alice-team" and "example.test", split at the last '@'.
  std::string local() const;
  std::string domain() const;
  // local-<suffix>@domain: one of the list's own addresses ("subscribe", "return-").
  std::string address_for(std::string_view suffix) const;
  // RFC 2919 list-id: "alice-team.example.test".
  std::string list_id() const;
};

// "dmarc", "always", "never": the config file's words.
std::string_view from_rewrite_name(FromRewrite r);

// Parses a config file; format error "config:<line>: <why>" for any line that is
// not a known `name=value`, a duplicate, or a missing address/owner/root.
Result<ListConfig> parse_list_config(std::string_view text);
// The canonical text of a config (parse_list_config(serialize(c)) == c).
std::string serialize_list_config(const ListConfig& c);

}  // namespace quail
