// SMTP command and reply line parsers: see smtp_command.hpp. Leniencies, each one
// common practice and harmless: verbs and keywords in any case, trailing blanks,
// blanks after "FROM:"/"TO:", and runs of blanks between parameters.
#include "smtp_command.hpp"

#include <array>
#include <utility>

#include "decimal.hpp"

namespace quail {
namespace {

constexpr size_t max_params = 10;
constexpr size_t max_keyword = 32;
// A chunk is counted in an off_t-sized total; anything larger is refused, never wrapped.
constexpr uint64_t max_chunk = decimal_int64_max;
constexpr size_t max_size_digits = 20;  // RFC 1870: size-value = 1*20DIGIT

struct VerbName {
  std::string_view name;
  SmtpVerb verb;
};
constexpr std::array<VerbName, 14> verbs = {{
    {"HELO", SmtpVerb::helo}, {"EHLO", SmtpVerb::ehlo}, {"MAIL", SmtpVerb::mail}, {"RCPT", SmtpVerb::rcpt},
    {"DATA", SmtpVerb::data}, {"BDAT", SmtpVerb::bdat}, {"RSET", SmtpVerb::rset}, {"NOOP", SmtpVerb::noop},
    {"QUIT", SmtpVerb::quit}, {"VRFY", SmtpVerb::vrfy}, {"EXPN", SmtpVerb::expn}, {"HELP", SmtpVerb::help},
    {"STARTTLS", SmtpVerb::starttls}, {"AUTH", SmtpVerb::auth},
}};

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (upper(a[i]) != upper(b[i])) return false;
  }
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

Error syntax(std::string reason) { return Error{ErrorKind::format, std::move(reason)}; }

// One token of printable ASCII: the HELO/EHLO argument (a domain or address literal,
// but real clients send host names with "_" too, so only the character set is checked).
bool printable_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// esmtp-value (RFC 5321 4.1.2, RFC 6531 3.3): 1*(%d33-60 / %d62-126 / UTF-8 non-ASCII).
bool valid_param_value(std::string_view v) {
  if (v.empty()) return false;
  for (unsigned char c : v) {
    if (c == '=' || c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool valid_keyword(std::string_view k) {
  if (k.empty() || k.size() > max_keyword || !is_alnum(k.front())) return false;
  for (char c : k) {
    if (!is_alnum(c) && c != '-') return false;
  }
  return true;
}

// "<...>" at the start of s, honouring quoted local parts; npos when unterminated.
size_t path_end(std::string_view s) {
  if (s.empty() || s.front() != '<') return std::string_view::npos;
  bool quoted = false;
  for (size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (quoted && c == '\\') {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == '>' && !quoted) {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

Result<std::vector<EsmtpParam>> parse_params(std::string_view rest) {
  std::vector<EsmtpParam> out;
  if (rest.empty()) return out;
  if (rest.front() != ' ') return syntax("a space must separate the path from its parameters");
  size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && rest[i] == ' ') ++i;
    if (i == rest.size()) break;
    size_t end = rest.find(' ', i);
    std::string_view tok = rest.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
    i = end == std::string_view::npos ? rest.size() : end;
    EsmtpParam p;
    size_t eq = tok.find('=');
    std::string_view key = tok.substr(0, eq);
    if (!valid_keyword(key)) return syntax("malformed parameter keyword");
    for (char c : key) p.keyword += upper(c);
    if (eq != std::string_view::npos) {
      std::string_view value = tok.substr(eq + 1);
      if (!valid_param_value(value)) return syntax("malformed value of parameter " + p.keyword);
      p.value = std::string(value);
      p.has_value = true;
    }
    for (const auto& q : out) {
      if (q.keyword == p.keyword) return syntax("parameter " + p.keyword + " given twice");
    }
    if (out.size() == max_params) return syntax("too many parameters");
    out.push_back(std::move(p));
  }
  return out;
}

// MAIL FROM:<path> [params] / RCPT TO:<path> [params]
Status parse_path_command(std::string_view rest, std::string_view prefix, SmtpCommand& cmd) {
  if (!istarts_with(rest, prefix)) return syntax("expected " + std::string(prefix) + "<address>");
  rest.remove_prefix(prefix.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  size_t end = path_end(rest);
  if (end == std::string_view::npos) return Error{ErrorKind::permanent, "address must be enclosed in <>"};
  std::string_view path = rest.substr(0, end);
  for (unsigned char c : path) {
    if (c >= 0x80) cmd.utf8_path = true;
  }
  bool mail = cmd.verb == SmtpVerb::mail;
  if (!mail && iequals(path, "<postmaster>")) {
    cmd.postmaster = true;
  } else {
    auto a = parse_path(path, mail, true, &cmd.source_route);
    if (!a) {
      return Error{a.error().kind == ErrorKind::too_long ? ErrorKind::too_long : ErrorKind::permanent,
                   a.error().reason};
    }
    cmd.path = std::move(*a);
  }
  auto params = parse_params(rest.substr(end));
  if (!params) return params.error();
  cmd.params = std::move(*params);
  return {};
}

Status parse_bdat(std::string_view rest, SmtpCommand& cmd) {
  size_t n = 0;
  while (n < rest.size() && is_digit(rest[n])) ++n;
  // RFC 3030: chunk-size = 1*DIGIT, so leading zeros are allowed.
  auto size = parse_decimal(rest.substr(0, n), max_chunk, LeadingZeros::allow);
  if (!size) return syntax("syntax: BDAT <size> [LAST]");
  cmd.chunk_size = *size;
  std::string_view tail = rest.substr(n);
  if (tail.empty()) return {};
  if (iequals(tail, " LAST")) {
    cmd.last = true;
    return {};
  }
  return syntax("syntax: BDAT <size> [LAST]");
}

}  // namespace

std::optional<uint64_t> parse_size_value(std::string_view v) {
  if (v.size() > max_size_digits || !is_decimal(v, LeadingZeros::allow)) return std::nullopt;
  // 20 digits can pass UINT64_MAX: still a valid size, larger than any limit.
  return parse_decimal(v, UINT64_MAX, LeadingZeros::allow).value_or(UINT64_MAX);
}

const EsmtpParam* SmtpCommand::param(std::string_view keyword) const {
  for (const auto& p : params) {
    if (p.keyword == keyword) return &p;
  }
  return nullptr;
}

std::string_view smtp_verb_name(SmtpVerb v) {
  for (const auto& n : verbs) {
    if (n.verb == v) return n.name;
  }
  return "?";
}

Result<SmtpCommand> parse_smtp_command(std::string_view line) {
  for (unsigned char c : line) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return syntax("control character in command");
  }
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
  size_t sp = line.find(' ');
  std::string_view word = line.substr(0, sp);
  std::string_view rest = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  SmtpCommand cmd;
  bool known = false;
  for (const auto& n : verbs) {
    if (iequals(word, n.name)) {
      cmd.verb = n.verb;
      known = true;
      break;
    }
  }
  if (!known) return Error{ErrorKind::not_found, "unknown command"};
  if (sp != std::string_view::npos && rest.empty()) return syntax("empty argument");
  for (char c : rest) {
    if (c == '\t') return syntax("tab in command");
  }

  switch (cmd.verb) {
    case SmtpVerb::helo:
    case SmtpVerb::ehlo:
      if (!printable_token(rest)) return syntax("syntax: " + std::string(word) + " <hostname>");
      cmd.argument = std::string(rest);
      break;
    case SmtpVerb::mail:
      if (auto s = parse_path_command(rest, "FROM:", cmd); !s) return s.error();
      break;
    case SmtpVerb::rcpt:
      if (auto s = parse_path_command(rest, "TO:", cmd); !s) return s.error();
      break;
    case SmtpVerb::bdat:
      if (auto s = parse_bdat(rest, cmd); !s) return s.error();
      break;
    case SmtpVerb::data:
    case SmtpVerb::rset:
    case SmtpVerb::quit:
    case SmtpVerb::starttls:
      if (!rest.empty()) return syntax(std::string(smtp_verb_name(cmd.verb)) + " takes no argument");
      break;
    case SmtpVerb::vrfy:
    case SmtpVerb::expn:
    case SmtpVerb::auth:
      if (rest.empty()) return syntax(std::string(smtp_verb_name(cmd.verb)) + " needs an argument");
      cmd.argument = std::string(rest);
      break;
    case SmtpVerb::noop:
    case SmtpVerb::help:
      cmd.argument = std::string(rest);
      break;
  }
  return cmd;
}

bool valid_xtext(std::string_view s) {
  auto hex = [](char c) { return is_digit(c) || (c >= 'A' && c <= 'F'); };
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '+') {
      if (i + 2 >= s.size() || !hex(s[i + 1]) || !hex(s[i + 2])) return false;
      i += 2;
    } else if (c < 33 || c > 126 || c == '=') {
      return false;
    }
  }
  return true;
}

Result<SmtpReplyLine> parse_reply_line(std::string_view line) {
  if (line.size() < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' || !is_digit(line[2])) {
    return syntax("malformed reply code");
  }
  SmtpReplyLine r;
  r.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (line.size() == 3) {
    r.last = true;
    return r;
  }
  if (line[3] != ' ' && line[3] != '-') return syntax("malformed reply separator");
  r.last = line[3] == ' ';
  r.text = std::string(line.substr(4));
  return r;
}

std::string enhanced_code_of(int code, std::string_view text) {
  // class "." subject "." detail, subject and detail 1-3 digits (RFC 3463 2).
  if (text.size() < 5 || text[0] != static_cast<char>('0' + code / 100) || text[1] != '.') return "";
  size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    size_t start = i;
    while (i < text.size() && is_digit(text[i]) && i - start < 4) ++i;
    if (i == start || i - start > 3) return "";
    if (part == 0) {
      if (i >= text.size() || text[i] != '.') return "";
      ++i;
    }
  }
  if (i < text.size() && text[i] != ' ') return "";
  return std::string(text.substr(0, i));
}

std::string SmtpReply::text() const {
  std::string out;
  for (const auto& l : lines) {
    if (!out.empty()) out += "; ";
    out += l;
  }
  return out;
}

Result<bool> SmtpReplyReader::add(std::string_view line) {
  auto r = parse_reply_line(line);
  if (!r) return r.error();
  if (started_ && r->code != cur_.code) return syntax("reply code changed inside a multi-line reply");
  std::string text = std::move(r->text);
  if (!started_) {
    cur_.code = r->code;
    cur_.enhanced = enhanced_code_of(r->code, text);
    started_ = true;
  }
  if (!cur_.enhanced.empty() && text.compare(0, cur_.enhanced.size(), cur_.enhanced) == 0) {
    size_t skip = cur_.enhanced.size();
    while (skip < text.size() && text[skip] == ' ') ++skip;
    text.erase(0, skip);
  }
  cur_.lines.push_back(std::move(text));
  return r->last;
}

SmtpReply SmtpReplyReader::take() {
  SmtpReply out = std::move(cur_);
  cur_ = SmtpReply();
  started_ = false;
  return out;
}

}  // namespace quail
