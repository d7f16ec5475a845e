// Aliases file parser and cdb value encoding: see aliases.hpp and man/quail-aliases.8.
#include "aliases.hpp"

#include <set>

#include "address.hpp"
#include "dotqmail.hpp"

namespace quail {
namespace {

Error at(const std::string& file, int lineno, const std::string& why) {
  return Error{ErrorKind::format, file + ":" + std::to_string(lineno) + ": " + why};
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool valid_alias_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (is_space(c)) return false;
  }
  return valid_forward_address(name);
}

}  // namespace

Result<std::vector<Alias>> parse_aliases(std::string_view text, const std::string& file) {
  std::vector<Alias> out;
  std::set<std::string> seen;
  int lineno = 0;
  size_t start = 0;
  bool open_entry = false;  // the last entry may take continuation lines
  while (start < text.size()) {
    ++lineno;
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    std::string_view t = trim(line);
    if (t.empty() || t.front() == '#') continue;
    if (is_space(line.front())) {
      if (!open_entry) return at(file, lineno, "continuation line without an alias before it");
      if (auto s = parse_forward_items(t, lineno, out.back().items); !s) return at(file, lineno, s.error().reason);
      continue;
    }
    size_t colon = t.find(':');
    if (colon == std::string_view::npos) return at(file, lineno, "expected name: targets");
    std::string name = lowercase(trim(t.substr(0, colon)));
    if (!valid_alias_name(name)) return at(file, lineno, "not a valid alias name: " + name);
    if (!seen.insert(name).second) return at(file, lineno, "duplicate alias " + name);
    out.push_back(Alias{name, {}, lineno});
    open_entry = true;
    if (auto s = parse_forward_items(t.substr(colon + 1), lineno, out.back().items); !s) {
      return at(file, lineno, s.error().reason);
    }
  }
  for (const auto& a : out) {
    if (a.items.empty()) return at(file, a.lineno, "alias " + a.name + " has no targets");
  }
  return out;
}

std::string encode_alias_value(const std::vector<ForwardItem>& items) {
  std::string v;
  for (const auto& item : items) {
    if (!v.empty()) v += '\n';
    v += forward_item_text(item);
  }
  return v;
}

std::vector<std::string> split_alias_value(std::string_view value) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= value.size() && !value.empty()) {
    size_t nl = value.find('\n', start);
    if (nl == std::string_view::npos) nl = value.size();
    if (nl > start) out.emplace_back(value.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

}  // namespace quail
