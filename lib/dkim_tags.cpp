// Tag lists, DKIM-Signature values and key records: see dkim_tags.hpp.
#include "dkim_tags.hpp"

#include "sasl.hpp"

namespace quail::dkim {
namespace {

bool wsp(char c) { return c == ' ' || c == '\t'; }
bool alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool digit(char c) { return c >= '0' && c <= '9'; }
// VALCHAR (%x21-3A / %x3C-7E), and UTF-8 bytes as RFC 8616 allows.
bool valchar(char c) {
  auto u = static_cast<unsigned char>(c);
  return (u >= 0x21 && u <= 0x7e && u != ';') || u >= 0x80;
}

// A line break (CRLF or LF) followed by WSP at pos: its length, else 0.
size_t fold_at(std::string_view t, size_t pos) {
  size_t n = 0;
  if (t.substr(pos, 2) == "\r\n") n = 2;
  else if (pos < t.size() && t[pos] == '\n') n = 1;
  if (n == 0 || pos + n >= t.size() || !wsp(t[pos + n])) return 0;
  return n;
}

size_t skip_fws(std::string_view t, size_t pos) {
  for (;;) {
    if (pos < t.size() && wsp(t[pos])) ++pos;
    else if (size_t n = fold_at(t, pos)) pos += n;
    else return pos;
  }
}

Error bad(std::string why) { return Error{ErrorKind::format, std::move(why)}; }

}  // namespace

Result<std::vector<Tag>> parse_tag_list(std::string_view t) {
  std::vector<Tag> tags;
  size_t pos = 0;
  for (;;) {
    pos = skip_fws(t, pos);
    if (pos == t.size() && !tags.empty()) return tags;  // after a final ";"
    Tag tag;
    if (pos >= t.size() || !alpha(t[pos])) return bad("tag list: a tag name must start with a letter");
    size_t name_begin = pos;
    while (pos < t.size() && (alpha(t[pos]) || digit(t[pos]) || t[pos] == '_')) ++pos;
    tag.name.assign(t.substr(name_begin, pos - name_begin));
    pos = skip_fws(t, pos);
    if (pos >= t.size() || t[pos] != '=') return bad("tag list: \"=\" expected after " + tag.name);
    pos = skip_fws(t, pos + 1);
    tag.value_begin = tag.value_end = pos;
    while (pos < t.size() && t[pos] != ';') {
      if (valchar(t[pos])) {
        tag.value_end = ++pos;
      } else if (wsp(t[pos])) {
        ++pos;
      } else if (size_t n = fold_at(t, pos)) {
        pos += n;
      } else {
        return bad("tag list: a control byte in the value of " + tag.name);
      }
    }
    tag.value.assign(t.substr(tag.value_begin, tag.value_end - tag.value_begin));
    if (find_tag(tags, tag.name)) return bad("tag list: " + tag.name + "= given twice");
    tags.push_back(std::move(tag));
    if (pos == t.size()) return tags;
    ++pos;  // the ";"
  }
}

const Tag* find_tag(const std::vector<Tag>& tags, std::string_view name) {
  for (const auto& t : tags) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::string strip_fws(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (!wsp(c) && c != '\r' && c != '\n') out += c;
  }
  return out;
}

// Splits a colon list, FWS around the elements removed; empty elements kept.
std::vector<std::string> colon_list(std::string_view v) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : v) {
    if (c == ':') {
      out.push_back(strip_fws(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(strip_fws(cur));
  return out;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// sub-domain *("." sub-domain), each Let-dig [Ldh-str], at most 63 and 253 bytes;
// min_labels 2 for d= (RFC 6376 domain-name), 1 for s=.
bool dns_name(std::string_view s, int min_labels) {
  if (s.empty() || s.size() > 253) return false;
  int labels = 0;
  size_t start = 0;
  for (;;) {
    size_t dot = s.find('.', start);
    std::string_view l = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (l.empty() || l.size() > 63 || l.front() == '-' || l.back() == '-') return false;
    for (char c : l) {
      if (!alpha(c) && !digit(c) && c != '-') return false;
    }
    ++labels;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return labels >= min_labels;
}

// 1*digits with at most max_digits, as a number.
std::optional<uint64_t> number(std::string_view s, size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (!digit(c)) return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

std::optional<std::string> base64(std::string_view v) {
  auto d = base64_decode(strip_fws(v));
  if (!d) return std::nullopt;
  return d->str();
}

}  // namespace quail::dkim
