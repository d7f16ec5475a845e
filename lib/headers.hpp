// RFC 5322 header sections: splitting header from body, fields, unfolding, and
// address lists (mailboxes, groups, comments, quoted strings, obs-route).
// Trusts nothing: every parser here takes outside input and is fuzzed (tests/fuzz/headers_fuzz.cpp).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"

namespace quail {

// One header field exactly as it appeared.
struct HeaderField {
  std::string name;  // as written, without the colon (and without obsolete WSP before it)
  std::string raw;   // the whole field: name, colon, value, folded lines, final line break
  // The value after the colon, unfolded, with leading and trailing WSP removed.
  std::string value() const;
  // Case-insensitive name comparison (field names are ASCII, RFC 5322 2.2).
  bool is(std::string_view n) const;
};

enum class HeaderLine {
  field,         // `name:` with name 1*ftext, optional WSP before the colon
  continuation,  // starts with SP or HT: a folded part of the field before it
  blank,         // empty (LF or CRLF alone): the end of the header section
  other,         // anything else: the body begins here
};

// What one line (with or without its LF / CRLF) is, seen from the header section.
HeaderLine classify_header_line(std::string_view line);

// Where the header ends: [0, header_end) is the header section; the body starts
// at body_start. The header is the longest prefix of fields and their
// continuations; a blank line ends it and belongs to neither part, any other line
// ends it and is the body's first line (as sendmail and qmail-inject treat it).
struct HeaderSplit {
  size_t header_end = 0;
  size_t body_start = 0;
  bool blank_line = false;  // the header section ended in a blank line
};
HeaderSplit split_message(std::string_view message);

// Parses a header section (as split_message cuts it; lines end in LF or CRLF).
// format error, naming the line, when a line is neither a field nor a continuation.
Result<std::vector<HeaderField>> parse_header(std::string_view section);

// The first field named `name` (case-insensitive), or nullptr.
const HeaderField* find_field(const std::vector<HeaderField>& fields, std::string_view name);

// RFC 5322 3.2.2 unfolding: line breaks are removed, the WSP after them kept.
std::string unfold(std::string_view text);

// One mailbox of an address list.
struct Mailbox {
  std::string display_name;  // decoded phrase ("" when none); encoded-words left as they are
  std::string address;       // local@domain, or a bare local part when the header had no @domain;
                             // a quoted local part keeps its quotes; CFWS removed
  size_t end = 0;            // offset in the parsed text just past the address: where
                             // "@domain" goes to qualify it in place, comments and all
  // Equal when name and address are (end is where, not what).
  bool operator==(const Mailbox& o) const { return display_name == o.display_name && address == o.address; }
};

// Parses an RFC 5322 address-list (To, Cc, Bcc, From, Reply-To...): mailboxes and
// groups (whose members are returned, the group name dropped), empty list
// elements tolerated (obs-addr-list). Also accepts a bare local part without
// @domain, which callers qualify. format error with a reason otherwise.
Result<std::vector<Mailbox>> parse_address_list(std::string_view value);

// A display name as it must be written in a header: as is when it is a phrase of
// atoms, else a quoted-string with `"` and `\` escaped. Control bytes become spaces.
std::string format_display_name(std::string_view name);
// `Name <address>`, or the bare address when name is empty.
std::string format_mailbox(std::string_view name, std::string_view address);

}  // namespace quail
