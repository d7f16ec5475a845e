// RFC 5322 header sections and address lists: see headers.hpp. Every loop is
// linear in its input and nothing recurses, so hostile headers cost no more than
// their length. Over 300 lines because the tokenizer and the grammar belong together.
#include "headers.hpp"

#include <cstdio>

#include "address.hpp"

namespace quail {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// ftext (RFC 5322 3.6.8): printable US-ASCII except the colon.
bool is_ftext(unsigned char c) { return c >= 33 && c <= 126 && c != ':'; }

// atext (RFC 5322 3.2.3), with UTF-8 bytes as RFC 6532 allows.
bool is_atext(unsigned char c) {
  if (c >= 0x80) return true;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '/': case '=': case '?': case '^': case '_': case '`': case '{': case '|': case '}': case '~':
      return true;
    default:
      return false;
  }
}

bool is_control(unsigned char c) { return (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f; }

Error format_error(const std::string& what) { return Error{ErrorKind::format, what}; }

}  // namespace

HeaderLine classify_header_line(std::string_view line) {
  if (line.empty() || line == "\n" || line == "\r\n") return HeaderLine::blank;
  if (is_wsp(line.front())) return HeaderLine::continuation;
  size_t i = 0;
  while (i < line.size() && is_ftext(static_cast<unsigned char>(line[i]))) ++i;
  if (i == 0) return HeaderLine::other;
  while (i < line.size() && is_wsp(line[i])) ++i;
  // "From " (an mbox separator) has WSP inside the name: not a field.
  if (i < line.size() && line[i] == ':') return HeaderLine::field;
  return HeaderLine::other;
}

HeaderSplit split_message(std::string_view message) {
  size_t pos = 0;
  bool in_field = false;
  while (pos < message.size()) {
    size_t nl = message.find('\n', pos);
    size_t end = nl == std::string_view::npos ? message.size() : nl + 1;
    HeaderLine kind = classify_header_line(message.substr(pos, end - pos));
    if (kind == HeaderLine::blank) return {pos, end, true};
    if (kind == HeaderLine::field || (kind == HeaderLine::continuation && in_field)) {
      in_field = true;
      pos = end;
      continue;
    }
    break;
  }
  return {pos, pos, false};
}

Result<std::vector<HeaderField>> parse_header(std::string_view section) {
  std::vector<HeaderField> fields;
  size_t pos = 0;
  size_t line_no = 0;
  while (pos < section.size()) {
    size_t nl = section.find('\n', pos);
    size_t end = nl == std::string_view::npos ? section.size() : nl + 1;
    std::string_view line = section.substr(pos, end - pos);
    ++line_no;
    switch (classify_header_line(line)) {
      case HeaderLine::field: {
        size_t n = 0;
        while (is_ftext(static_cast<unsigned char>(line[n]))) ++n;
        fields.push_back(HeaderField{std::string(line.substr(0, n)), std::string(line)});
        break;
      }
      case HeaderLine::continuation:
        if (fields.empty()) return format_error("header line " + std::to_string(line_no) + " continues no field");
        fields.back().raw += line;
        break;
      default:
        return format_error("header line " + std::to_string(line_no) + " is not a field");
    }
    pos = end;
  }
  return fields;
}

std::string unfold(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') continue;
    if (c == '\r' && (i + 1 == text.size() || text[i + 1] == '\n')) continue;
    out += c;
  }
  return out;
}

std::string HeaderField::value() const {
  size_t colon = raw.find(':');
  std::string v = unfold(colon == std::string::npos ? std::string_view() : std::string_view(raw).substr(colon + 1));
  size_t b = 0, e = v.size();
  while (b < e && is_wsp(v[b])) ++b;
  while (e > b && is_wsp(v[e - 1])) --e;
  return v.substr(b, e - b);
}

bool HeaderField::is(std::string_view n) const { return lowercase(name) == lowercase(n); }

const HeaderField* find_field(const std::vector<HeaderField>& fields, std::string_view name) {
  for (const auto& f : fields) {
    if (f.is(name)) return &f;
  }
  return nullptr;
}

// ---- address lists (RFC 5322 3.4, with the obsolete forms of 4.4) ----

namespace {

enum class Tok { atom, quoted, literal, special };

struct Token {
  Tok kind;
  std::string text;  // atom text, decoded quoted-string content, literal, or the special character
  std::string raw;   // as written (quoted-string with its quotes and backslashes)
  bool space_before;  // WSP or a comment preceded it
  size_t end = 0;     // offset just past the token in the parsed text
  bool is(char c) const { return kind == Tok::special && text[0] == c; }
  bool word() const { return kind == Tok::atom || kind == Tok::quoted; }
};

// Skips a (possibly nested) comment starting at s[i] == '('.
Status skip_comment(std::string_view s, size_t& i) {
  size_t depth = 0;
  do {
    if (i >= s.size()) return format_error("unterminated comment");
    char c = s[i++];
    if (c == '\0') return format_error("NUL in a comment");
    if (c == '\\') {
      if (i >= s.size()) return format_error("unterminated comment");
      ++i;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    }
  } while (depth > 0);
  return {};
}

// Reads a quoted-string or domain-literal starting at s[i] (the opening `"` or `[`).
Status read_delimited(std::string_view s, size_t& i, char close, Token& t) {
  size_t start = i++;
  for (;;) {
    if (i >= s.size()) return format_error(close == '"' ? "unterminated quoted string" : "unterminated domain literal");
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == static_cast<unsigned char>(close)) break;
    if (c == '\\') {
      if (++i >= s.size()) continue;
      c = static_cast<unsigned char>(s[i]);
      // quoted-pair is "\" (VCHAR / WSP): an escaped line break would vanish in unfolding.
      if (c == '\r' || c == '\n') return format_error("escaped line break in a quoted string");
    } else if (close == ']' && c == '[') {
      return format_error("[ inside a domain literal");
    }
    if (c == '\0' || is_control(c)) return format_error("control character in a quoted string");
    if (c != '\r' && c != '\n') t.text += static_cast<char>(c);
    ++i;
  }
  ++i;
  t.raw = unfold(s.substr(start, i - start));
  if (close == ']') t.text = t.raw;
  return {};
}

Result<std::vector<Token>> tokenize(std::string_view s) {
  std::vector<Token> out;
  bool space = false;
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = true;
      ++i;
      continue;
    }
    if (c == '(') {
      if (auto st = skip_comment(s, i); !st) return st.error();
      space = true;
      continue;
    }
    Token t{Tok::special, "", "", space};
    space = false;
    if (c == '"' || c == '[') {
      t.kind = c == '"' ? Tok::quoted : Tok::literal;
      if (auto st = read_delimited(s, i, c == '"' ? '"' : ']', t); !st) return st.error();
    } else if (is_atext(c)) {
      size_t start = i;
      while (i < s.size() && is_atext(static_cast<unsigned char>(s[i]))) ++i;
      t.kind = Tok::atom;
      t.text = t.raw = std::string(s.substr(start, i - start));
    } else if (c == '<' || c == '>' || c == ':' || c == ';' || c == '@' || c == ',' || c == '.') {
      t.text = t.raw = std::string(1, static_cast<char>(c));
      ++i;
    } else {
      char what[32];
      if (c >= 0x21 && c < 0x7f) std::snprintf(what, sizeof what, "unexpected '%c'", c);
      else std::snprintf(what, sizeof what, "unexpected byte \\x%02x", c);
      return format_error(what);
    }
    t.end = i;
    out.push_back(std::move(t));
  }
  return out;
}

class ListParser {
 public:
  explicit ListParser(const std::vector<Token>& t) : t_(t) {}

  Status parse(std::vector<Mailbox>& out) {
    while (p_ < t_.size()) {
      if (t_[p_].is(',')) {  // an empty element (obs-addr-list)
        ++p_;
        continue;
      }
      if (auto s = address(out, true); !s) return s;
      if (p_ < t_.size() && !t_[p_].is(',')) return expected("',' after an address");
    }
    return {};
  }

 private:
  bool at(char c) const { return p_ < t_.size() && t_[p_].is(c); }

  Error expected(const std::string& what) const {
    return format_error("expected " + what + ", found " + (p_ >= t_.size() ? "the end" : "'" + t_[p_].raw + "'"));
  }

  // mailbox / group; a group's members are appended to out.
  Status address(std::vector<Mailbox>& out, bool group_allowed) {
    size_t start = p_;
    while (p_ < t_.size() && (t_[p_].word() || t_[p_].is('.'))) ++p_;
    size_t end = p_;
    if (at('<')) {
      ++p_;
      auto a = angle_addr();
      if (!a) return a.error();
      out.push_back(Mailbox{phrase(start, end), std::move(*a), t_[p_ - 2].end});
      return {};
    }
    if (at(':')) {
      if (!group_allowed) return format_error("group inside a group");
      if (start == end) return format_error("group without a name");
      ++p_;
      return group(out);
    }
    auto local = local_part(start, end);
    if (!local) return local.error();
    if (at('@')) {
      ++p_;
      auto d = domain();
      if (!d) return d.error();
      out.push_back(Mailbox{"", *local + "@" + *d, t_[p_ - 1].end});
    } else {
      out.push_back(Mailbox{"", std::move(*local), t_[end - 1].end});
    }
    return {};
  }

  Status group(std::vector<Mailbox>& out) {
    for (;;) {
      if (p_ >= t_.size()) return format_error("group not closed by ';'");
      if (at(';')) {
        ++p_;
        return {};
      }
      if (at(',')) {
        ++p_;
        continue;
      }
      if (auto s = address(out, false); !s) return s;
      if (!at(',') && !at(';')) return expected("',' or ';' in a group");
    }
  }

  // After "<": [obs-route] local-part ["@" domain] ">".
  Result<std::string> angle_addr() {
    if (at('@')) {  // obs-route: @a,@b: ... dropped, as RFC 5321 C allows
      while (at('@') || at(',')) {
        if (at(',')) {
          ++p_;
          continue;
        }
        ++p_;
        if (auto d = domain(); !d) return d.error();
      }
      if (!at(':')) return expected("':' after a source route");
      ++p_;
    }
    size_t start = p_;
    while (p_ < t_.size() && (t_[p_].word() || t_[p_].is('.'))) ++p_;
    if (start == p_ && at('>')) return format_error("empty address <>");
    auto local = local_part(start, p_);
    if (!local) return local.error();
    std::string addr = *local;
    if (at('@')) {
      ++p_;
      auto d = domain();
      if (!d) return d.error();
      addr += "@" + *d;
    }
    if (!at('>')) return expected("'>' after the address");
    ++p_;
    return addr;
  }

  // word *("." word) over tokens [b, e); quoted words keep their quotes.
  Result<std::string> local_part(size_t b, size_t e) const {
    if (b == e) return expected("an address");
    std::string out;
    for (size_t i = b; i < e; ++i) {
      bool want_word = (i - b) % 2 == 0;
      if (want_word != t_[i].word()) {
        std::string words;
        for (size_t j = b; j < e; ++j) words += (j > b && t_[j].space_before ? " " : "") + t_[j].raw;
        return format_error("no address in \"" + words + "\"");
      }
      out += t_[i].raw;
    }
    if (!t_[e - 1].word()) return format_error("address ends in '.'");
    return out;
  }

  Result<std::string> domain() {
    if (p_ < t_.size() && t_[p_].kind == Tok::literal) return t_[p_++].raw;
    std::string out;
    for (;;) {
      if (p_ >= t_.size() || t_[p_].kind != Tok::atom) return expected("a domain");
      out += t_[p_++].text;
      if (!at('.')) return out;
      ++p_;
      out += '.';
    }
  }

  std::string phrase(size_t b, size_t e) const {
    std::string out;
    for (size_t i = b; i < e; ++i) {
      if (i > b && t_[i].space_before) out += ' ';
      out += t_[i].text;
    }
    return out;
  }

  const std::vector<Token>& t_;
  size_t p_ = 0;
};

}  // namespace

Result<std::vector<Mailbox>> parse_address_list(std::string_view value) {
  auto tokens = tokenize(value);
  if (!tokens) return tokens.error();
  std::vector<Mailbox> out;
  ListParser parser(*tokens);
  if (auto s = parser.parse(out); !s) return s.error();
  return out;
}

std::string format_display_name(std::string_view name) {
  bool atoms = !name.empty() && name.front() != ' ' && name.back() != ' ';
  for (size_t i = 0; atoms && i < name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    atoms = is_atext(c) || (c == ' ' && name[i - 1] != ' ');
  }
  if (atoms) return std::string(name);
  std::string out = "\"";
  for (unsigned char c : name) {
    if (c == '"' || c == '\\') out += '\\';
    out += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
  }
  return out + "\"";
}

std::string format_mailbox(std::string_view name, std::string_view address) {
  if (name.empty()) return std::string(address);
  return format_display_name(name) + " <" + std::string(address) + ">";
}

}  // namespace quail
