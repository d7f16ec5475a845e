// .qmail line parser: see dotqmail.hpp and man/local-deliver.8 (qmail's dot-qmail(5)).
#include "dotqmail.hpp"

#include "address.hpp"

namespace quail {
namespace {

bool is_alnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

Error line_error(const std::string& what) { return Error{ErrorKind::format, what}; }

}  // namespace

bool valid_forward_address(std::string_view address) {
  if (address.empty()) return false;
  if (address.find('@') == std::string_view::npos) {
    // A bare local part: valid when it would be valid at some domain.
    return parse_address(std::string(address) + "@localhost").ok();
  }
  return parse_address(address).ok();
}

Result<std::optional<DotQmailLine>> parse_dotqmail_line(std::string_view line) {
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
  if (line.empty() || line.front() == '#') return std::optional<DotQmailLine>();
  for (unsigned char c : line) {
    if (c == '\0') return line_error("contains a NUL byte");
    if ((c < 0x20 && c != '\t') || c == 0x7f) return line_error("contains a control character");
  }
  DotQmailLine out;
  switch (line.front()) {
    case '|':
      out.kind = DotQmailKind::program;
      out.value = std::string(line.substr(1));
      if (out.value.find_first_not_of(" \t") == std::string::npos) return line_error("empty program line");
      return std::optional<DotQmailLine>(std::move(out));
    case '.':
    case '/':
      out.kind = line.back() == '/' ? DotQmailKind::maildir : DotQmailKind::mbox;
      out.value = std::string(line);
      return std::optional<DotQmailLine>(std::move(out));
    case '&':
      line.remove_prefix(1);
      break;
    default:
      if (!is_alnum(static_cast<unsigned char>(line.front()))) {
        return line_error("not a delivery instruction: a line must start with #, |, ., /, & or a letter or digit");
      }
  }
  if (!valid_forward_address(line)) return line_error("not a valid forwarding address: " + std::string(line));
  out.kind = DotQmailKind::forward;
  out.value = std::string(line);
  return std::optional<DotQmailLine>(std::move(out));
}

Result<std::vector<DotQmailLine>> parse_dotqmail(std::string_view text, const std::string& file) {
  std::vector<DotQmailLine> out;
  int lineno = 0;
  size_t start = 0;
  while (start < text.size()) {
    ++lineno;
    size_t nl = text.find('\n', start);
    std::string_view raw = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    auto line = parse_dotqmail_line(raw);
    if (!line) return Error{ErrorKind::format, file + ":" + std::to_string(lineno) + ": " + line.error().reason};
    if (!*line) continue;
    (*line)->lineno = lineno;
    out.push_back(std::move(**line));
  }
  return out;
}

}  // namespace quail
