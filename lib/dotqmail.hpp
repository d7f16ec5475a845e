// .qmail files (qmail's dot-qmail(5)): one delivery instruction per line.
// Trusts nothing: the file belongs to a user; every line is classified strictly
// and a line that fits no type is an error naming the file and line.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"

namespace quail {

enum class DotQmailKind {
  program,  // |command: run with /bin/sh -c, the message on stdin
  forward,  // &address or a line starting with a letter or digit: re-inject
  mbox,     // ./file or /file: append in mbox format
  maildir,  // ./dir/ or /dir/: a Maildir (the path ends in '/')
};

struct DotQmailLine {
  DotQmailKind kind = DotQmailKind::forward;
  std::string value;  // the command, the address, or the path (as written, relative or absolute)
  int lineno = 0;     // 1-based, for messages
  bool operator==(const DotQmailLine&) const = default;
};

// One line without its line end: nullopt for a `#` comment or a blank line;
// format error (reason without a file prefix) when it fits no line type.
Result<std::optional<DotQmailLine>> parse_dotqmail_line(std::string_view line);

// The delivery instructions of a .qmail file, in order. Trailing spaces, tabs
// and CRs are dropped (qmail-local drops spaces and tabs). An empty result means
// the file holds no instructions. format error "<file>:<line>: <why>".
Result<std::vector<DotQmailLine>> parse_dotqmail(std::string_view text, const std::string& file);

// A forwarding target as .qmail, .forward and aliases accept it: local@domain
// (RFC 5321 syntax) or a bare local part, which means the same domain.
bool valid_forward_address(std::string_view address);

}  // namespace quail
