// .forward files (sendmail syntax) and the item syntax /etc/aliases shares with
// them: addresses, "|program", /file, \user, separated by commas or newlines.
// Trusts nothing: the file belongs to a user; anything unclear is an error.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"

namespace quail {

enum class ForwardKind {
  address,  // re-inject to this address (a bare local part means the same domain)
  program,  // |command, run with /bin/sh -c
  mbox,     // /file: append in mbox format
  maildir,  // /dir/: a Maildir
  self,     // \user: the user's own default mailbox, no further forwarding
};

struct ForwardItem {
  ForwardKind kind = ForwardKind::address;
  std::string value;  // address, command (without '|'), path, or user name (without '\')
  int lineno = 0;
  bool operator==(const ForwardItem&) const = default;
};

// Classifies one item's text after unquoting ("|cmd", "/path", "\user",
// "<addr>", "addr"). format error for :include: (refused) and anything else
// that is not a valid item.
Result<ForwardItem> parse_forward_item(std::string_view text);

// Appends the items of one line (commas separate items; "..." quotes with
// backslash escapes; an unquoted |command runs to the end of the line).
// format error with a reason that has no file prefix.
Status parse_forward_items(std::string_view line, int lineno, std::vector<ForwardItem>& out);

// A whole .forward file: one or more items per line, `#` comment lines, blank
// lines ignored. format error "<file>:<line>: <why>".
Result<std::vector<ForwardItem>> parse_forward_file(std::string_view text, const std::string& file);

// The item as parse_forward_item reads it back ("|cmd", "/path", "\user", "addr").
std::string forward_item_text(const ForwardItem& item);

}  // namespace quail
