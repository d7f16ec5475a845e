// .forward and alias item parser: see forward_file.hpp (sendmail's forward(5) and
// aliases(5) item syntax, without :include:).
#include "forward_file.hpp"

#include "dotqmail.hpp"

namespace quail {
namespace {

Error item_error(const std::string& why) { return Error{ErrorKind::format, why}; }

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_space(s.front()) || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (is_space(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

Status check_chars(std::string_view s) {
  for (unsigned char c : s) {
    if (c == '\0') return item_error("contains a NUL byte");
    if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) return item_error("contains a control character");
  }
  return {};
}

Status add_item(std::string_view text, int lineno, std::vector<ForwardItem>& out) {
  auto item = parse_forward_item(text);
  if (!item) return item.error();
  item->lineno = lineno;
  out.push_back(std::move(*item));
  return {};
}

}  // namespace

Result<ForwardItem> parse_forward_item(std::string_view text) {
  text = trim(text);
  if (auto s = check_chars(text); !s) return s.error();
  if (text.empty()) return item_error("empty item");
  ForwardItem item;
  if (text.front() == '|') {
    std::string_view cmd = trim(text.substr(1));
    if (cmd.empty()) return item_error("empty program item");
    item.kind = ForwardKind::program;
    item.value = std::string(cmd);
    return item;
  }
  if (text.front() == '/') {
    item.kind = text.back() == '/' ? ForwardKind::maildir : ForwardKind::mbox;
    item.value = std::string(text);
    return item;
  }
  if (text.substr(0, 9) == ":include:" || text.substr(0, 9) == ":INCLUDE:") {
    return item_error(":include: is not supported: list the addresses here instead");
  }
  if (text.front() == '\\') {
    std::string_view user = text.substr(1);
    if (user.find('@') != std::string_view::npos || !valid_forward_address(user)) {
      return item_error("not a valid user name after \\: " + std::string(user));
    }
    item.kind = ForwardKind::self;
    item.value = std::string(user);
    return item;
  }
  if (text.size() >= 2 && text.front() == '<' && text.back() == '>') text = text.substr(1, text.size() - 2);
  for (char c : text) {
    if (is_space(c)) return item_error("spaces in an address (quote a program item): " + std::string(text));
  }
  if (!valid_forward_address(text)) return item_error("not a valid address: " + std::string(text));
  item.kind = ForwardKind::address;
  item.value = std::string(text);
  return item;
}

Status parse_forward_items(std::string_view line, int lineno, std::vector<ForwardItem>& out) {
  size_t i = 0;
  while (i < line.size()) {
    char c = line[i];
    if (is_space(c) || c == ',' || c == '\r') {
      ++i;
      continue;
    }
    if (c == '"') {
      std::string content;
      size_t j = i + 1;
      bool closed = false;
      for (; j < line.size(); ++j) {
        if (line[j] == '\\' && j + 1 < line.size()) {
          content += line[++j];
        } else if (line[j] == '"') {
          closed = true;
          break;
        } else {
          content += line[j];
        }
      }
      if (!closed) return item_error("unterminated quoted item");
      i = j + 1;
      while (i < line.size() && (is_space(line[i]) || line[i] == '\r')) ++i;
      if (i < line.size() && line[i] != ',') return item_error("text after a quoted item: expected a comma");
      if (auto s = add_item(content, lineno, out); !s) return s;
      continue;
    }
    if (c == '|') {
      // An unquoted command keeps its commas: it runs to the end of the line.
      if (auto s = add_item(line.substr(i), lineno, out); !s) return s;
      return {};
    }
    size_t end = line.find(',', i);
    if (end == std::string_view::npos) end = line.size();
    if (auto s = add_item(line.substr(i, end - i), lineno, out); !s) return s;
    i = end;
  }
  return {};
}

Result<std::vector<ForwardItem>> parse_forward_file(std::string_view text, const std::string& file) {
  std::vector<ForwardItem> out;
  int lineno = 0;
  size_t start = 0;
  while (start < text.size()) {
    ++lineno;
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    std::string_view t = trim(line);
    if (t.empty() || t.front() == '#') continue;
    if (auto s = parse_forward_items(line, lineno, out); !s) {
      return Error{ErrorKind::format, file + ":" + std::to_string(lineno) + ": " + s.error().reason};
    }
  }
  return out;
}

std::string forward_item_text(const ForwardItem& item) {
  switch (item.kind) {
    case ForwardKind::program:
      return "|" + item.value;
    case ForwardKind::self:
      return "\\" + item.value;
    case ForwardKind::address:
      // An address that would read as a file, program or user ("/x@y" is a valid
      // address) keeps the angle brackets it came in.
      if (!item.value.empty() && (item.value.front() == '/' || item.value.front() == '|' ||
                                  item.value.front() == '\\' || item.value.front() == '.' ||
                                  item.value.front() == '<' || item.value.front() == '"')) {
        return "<" + item.value + ">";
      }
      break;
    case ForwardKind::mbox:
    case ForwardKind::maildir:
      break;
  }
  return item.value;
}

}  // namespace quail
