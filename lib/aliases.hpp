// The aliases file (sendmail's /etc/aliases syntax) that quail-aliases compiles
// into users/aliases.cdb, and the encoding of its cdb values. Trusts nothing:
// a malformed line is an error naming the file and line, never a guess.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "forward_file.hpp"
#include "result.hpp"

namespace quail {

struct Alias {
  std::string name;                // lowercased "local" or "local@domain"
  std::vector<ForwardItem> items;  // at least one
  int lineno = 0;
};

// Parses `name: item, item` entries; a line starting with a space or tab
// continues the previous entry; `#` lines and blank lines are ignored. Names
// are unique. format error "<file>:<line>: <why>".
Result<std::vector<Alias>> parse_aliases(std::string_view text, const std::string& file);

// The cdb value of an alias: the items' texts separated by '\n'.
std::string encode_alias_value(const std::vector<ForwardItem>& items);
// Splits a cdb value back into item texts (each read with parse_forward_item).
std::vector<std::string> split_alias_value(std::string_view value);

}  // namespace quail
