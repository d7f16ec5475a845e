// The envelope queue-inject reads on fd 1 (qmail-queue protocol) with quail's
// additive extension records. Spec: queue-layout/envelope.md. Trusts nothing.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "result.hpp"

namespace quail {

// Longest envelope address accepted (exit 11 beyond it), as qmail-queue.
inline constexpr size_t max_envelope_address = 1000;

struct Recipient {
  std::string address;
  std::string notify;  // DSN NOTIFY: "" (default), or comma list of NEVER/SUCCESS/FAILURE/DELAY
  std::string orcpt;   // DSN ORCPT, as given ("rfc822;bob@example.test")
  bool operator==(const Recipient&) const = default;
};

struct Envelope {
  std::string sender;  // "" for the null sender; "#@[]" for a double bounce
  std::vector<Recipient> recipients;
  std::string ret;     // DSN RET: "", "FULL" or "HDRS"
  std::string envid;   // DSN ENVID
  std::string auth;    // the authenticated submitter, if any
  bool smtputf8 = false;
  // Extension records this version does not know, kept in order so they pass through.
  std::vector<std::pair<std::string, std::string>> extra;
  bool operator==(const Envelope&) const = default;
};

// Parses a complete envelope ending in the empty record. Errors: format (exit 91)
// for any malformed record, too_long (exit 11) for an address over the limit.
Result<Envelope> parse_envelope(std::string_view bytes);
// The canonical bytes of an envelope (parse_envelope(serialize(e)) == e).
std::string serialize_envelope(const Envelope& e);

}  // namespace quail
