// Public Suffix List: see psl.hpp. The algorithm is the list's own
// (publicsuffix.org/list/): an exception wins, else the longest rule, else "*".
#include "psl.hpp"

#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// A rule (any case) names exactly this lowercase suffix.
bool same(std::string_view rule, std::string_view suffix) {
  if (rule.size() != suffix.size()) return false;
  for (size_t i = 0; i < rule.size(); ++i)
    if (lower(rule[i]) != suffix[i]) return false;
  return true;
}

// Calls f(rule) for every rule of the list's text: a line's first word, not a comment.
template <class F>
void each_rule(std::string_view text, F f) {
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (!nl) nl = end;
    const char* w = p;
    if (nl - p >= 2 && p[0] == '/' && p[1] == '/') w = nl;  // most of the list's bytes: skipped unread
    const char* start = w;
    while (w < nl && *w != ' ' && *w != '\t' && *w != '\r') ++w;
    p = nl + 1;
    if (w != start) f(std::string_view(start, static_cast<size_t>(w - start)));
  }
}

}  // namespace

PublicSuffixList::PublicSuffixList(PublicSuffixList&& o) noexcept
    : text_(std::move(o.text_)), map_(std::exchange(o.map_, nullptr)), map_len_(std::exchange(o.map_len_, 0)),
      seen_(std::move(o.seen_)) {}

PublicSuffixList& PublicSuffixList::operator=(PublicSuffixList&& o) noexcept {
  if (this != &o) {
    if (map_) ::munmap(map_, map_len_);
    text_ = std::move(o.text_);
    map_ = std::exchange(o.map_, nullptr);
    map_len_ = std::exchange(o.map_len_, 0);
    seen_ = std::move(o.seen_);
  }
  return *this;
}

PublicSuffixList::~PublicSuffixList() {
  if (map_) ::munmap(map_, map_len_);
}

std::string_view PublicSuffixList::text() const {
  return map_ ? std::string_view(static_cast<const char*>(map_), map_len_) : std::string_view(text_);
}

PublicSuffixList PublicSuffixList::parse(std::string_view text) {
  PublicSuffixList l;
  l.text_ = text;
  return l;
}

Result<PublicSuffixList> PublicSuffixList::load(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return sys_error(ErrorKind::config, "open " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return sys_error(ErrorKind::config, "stat " + path);
  PublicSuffixList l;
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    // Mapped, not read: the page cache's pages, no copy (the file is replaced, not
    // rewritten in place, by the package that owns it).
    void* m = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (m == MAP_FAILED) return sys_error(ErrorKind::config, "mmap " + path);
    l.map_ = m;
    l.map_len_ = static_cast<size_t>(st.st_size);
    return l;
  }
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error(ErrorKind::config, "read " + path);
    if (n == 0) break;
    l.text_.append(buf, static_cast<size_t>(n));
  }
  return l;
}

size_t PublicSuffixList::size() const {
  size_t n = 0;
  each_rule(text(), [&](std::string_view) { ++n; });
  return n;
}

std::string PublicSuffixList::public_suffix(std::string_view domain) const {
  for (const auto& [d, suffix] : seen_)
    if (d == domain) return suffix;
  size_t labels = label_count(domain);
  // For each n, which kinds of rule name the domain's last n labels.
  enum : unsigned char { exception = 1, plain = 2, wildcard = 4 };
  std::vector<std::string_view> suffixes(labels + 1);
  for (size_t n = 1; n <= labels; ++n) suffixes[n] = last_labels(domain, n);
  std::vector<unsigned char> kinds(labels + 1, 0);
  each_rule(text(), [&](std::string_view rule) {
    unsigned char kind = plain;
    if (rule.starts_with("!")) {
      kind = exception;
      rule.remove_prefix(1);
    } else if (rule.starts_with("*.")) {
      kind = wildcard;
      rule.remove_prefix(2);
    }
    if (rule.size() > domain.size()) return;
    for (size_t n = 1; n <= labels; ++n)
      if (same(rule, suffixes[n])) kinds[n] |= kind;
  });
  size_t best = 1;  // the implicit "*" rule
  std::string out;
  bool decided = false;
  for (size_t n = 1; n <= labels && !decided; ++n) {
    // An exception names a domain that is not public: its parent is the suffix.
    if (kinds[n] & exception) {
      out = std::string(last_labels(domain, n - 1));
      decided = true;
    } else {
      if (kinds[n] & plain) best = n;
      if (n < labels && (kinds[n] & wildcard)) best = n + 1;
    }
  }
  if (!decided) out = std::string(last_labels(domain, best));
  if (seen_.size() < 16) seen_.emplace_back(std::string(domain), out);
  return out;
}

std::string PublicSuffixList::organizational_domain(std::string_view domain) const {
  std::string suffix = public_suffix(domain);
  return std::string(last_labels(domain, label_count(suffix) + 1));
}

}  // namespace quail
