// Public Suffix List: see psl.hpp. The algorithm is the list's own
// (publicsuffix.org/list/): an exception wins, else the longest rule, else "*".
#include "psl.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "fd.hpp"

namespace quail {
namespace {

// The suffix of d made of its last n labels (all of d when it has fewer).
std::string_view last_labels(std::string_view d, size_t n) {
  if (n == 0) return {};
  size_t pos = d.size();
  for (size_t i = 0; i < n; ++i) {
    size_t dot = d.rfind('.', pos == 0 ? 0 : pos - 1);
    if (pos == 0 || dot == std::string_view::npos) return d;
    pos = dot;
  }
  return d.substr(pos + 1);
}

size_t label_count(std::string_view d) {
  if (d.empty()) return 0;
  size_t n = 1;
  for (char c : d) n += c == '.';
  return n;
}

}  // namespace

PublicSuffixList PublicSuffixList::parse(std::string_view text) {
  PublicSuffixList l;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    // A rule is the line's first word; the rest, comments and blank lines mean nothing.
    size_t end = line.find_first_of(" \t\r");
    line = line.substr(0, end);
    if (line.empty() || line.starts_with("//")) continue;
    std::string rule;
    for (char c : line) rule += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (rule.starts_with("!")) {
      l.exceptions_.insert(rule.substr(1));
    } else if (rule.starts_with("*.")) {
      l.wildcards_.insert(rule.substr(2));
    } else {
      l.rules_.insert(rule);
    }
  }
  return l;
}

Result<PublicSuffixList> PublicSuffixList::load(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return sys_error(ErrorKind::config, "open " + path);
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error(ErrorKind::config, "read " + path);
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return parse(text);
}

std::string PublicSuffixList::public_suffix(std::string_view domain) const {
  size_t labels = label_count(domain);
  size_t best = 1;  // the implicit "*" rule
  for (size_t n = 1; n <= labels; ++n) {
    std::string s(last_labels(domain, n));
    // An exception names a domain that is not public: its parent is the suffix.
    if (exceptions_.count(s)) return std::string(last_labels(domain, n - 1));
    if (rules_.count(s)) best = n;
    if (n < labels && wildcards_.count(s)) best = n + 1;
  }
  return std::string(last_labels(domain, best));
}

std::string PublicSuffixList::organizational_domain(std::string_view domain) const {
  std::string suffix = public_suffix(domain);
  return std::string(last_labels(domain, label_count(suffix) + 1));
}

}  // namespace quail
