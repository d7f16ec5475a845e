// 8BITMIME downgrade: see mime_downgrade.hpp.
#include "mime_downgrade.hpp"

#include <vector>

#include "headers.hpp"

namespace quail {
namespace {

constexpr int max_depth = 20;  // nesting beyond this is left as it is

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 9;
    if (n == 9 || i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    }
    i += n + 1;
  }
  return true;
}

// A Content-Type value: "type/subtype" lowercased and the boundary parameter.
struct ContentType {
  std::string type;  // "" when absent or unparsable
  std::string boundary;
};

ContentType parse_content_type(std::string_view v) {
  ContentType ct;
  size_t semi = v.find(';');
  ct.type = lower(trim(v.substr(0, semi)));
  while (semi != std::string_view::npos) {
    v = v.substr(semi + 1);
    size_t eq = v.find('=');
    if (eq == std::string_view::npos) break;
    std::string key = lower(trim(v.substr(0, eq)));
    std::string_view rest = trim(v.substr(eq + 1));
    std::string value;
    if (!rest.empty() && rest.front() == '"') {
      size_t i = 1;
      for (; i < rest.size() && rest[i] != '"'; ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
        value += rest[i];
      }
      rest = rest.substr(std::min(i + 1, rest.size()));
      semi = rest.find(';');
      v = rest;
    } else {
      semi = rest.find(';');
      value = std::string(trim(rest.substr(0, semi)));
      v = rest;
    }
    if (key == "boundary") ct.boundary = value;
  }
  return ct;
}

std::string convert_entity(std::string_view entity, bool top, int depth);

// A multipart body with each part converted; parts are found between lines
// "--boundary" (the LF before a delimiter belongs to it, RFC 2046 5.1.1).
std::string convert_multipart(std::string_view body, const std::string& boundary, int depth) {
  std::string delim = "--" + boundary;
  std::vector<size_t> starts;  // offset of each delimiter line
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    size_t end = nl == std::string_view::npos ? body.size() : nl;
    std::string_view line = body.substr(pos, end - pos);
    if (line.substr(0, delim.size()) == delim) {
      std::string_view after = line.substr(delim.size());
      while (!after.empty() && (after.back() == ' ' || after.back() == '\t' || after.back() == '\r')) after.remove_suffix(1);
      if (after.empty() || after == "--") starts.push_back(pos);
      if (after == "--") break;  // the close delimiter: the epilogue follows
    }
    pos = end + 1;
  }
  if (starts.size() < 2) return std::string(body);
  std::string out(body.substr(0, starts[0]));
  for (size_t i = 0; i + 1 < starts.size(); ++i) {
    size_t line_end = body.find('\n', starts[i]);
    size_t part_begin = line_end == std::string_view::npos ? body.size() : line_end + 1;
    size_t part_end = starts[i + 1] > part_begin ? starts[i + 1] - 1 : part_begin;  // without the LF
    out.append(body.substr(starts[i], part_begin - starts[i]));
    std::string_view part = body.substr(part_begin, part_end - part_begin);
    out += has_8bit(part) ? convert_entity(part, false, depth + 1) : std::string(part);
    out.append(body.substr(part_end, starts[i + 1] - part_end));
  }
  out.append(body.substr(starts.back()));
  return out;
}

std::string convert_entity(std::string_view entity, bool top, int depth) {
  if (depth > max_depth) return std::string(entity);
  HeaderSplit split = split_message(entity);
  std::string_view head = entity.substr(0, split.header_end);
  std::string_view body = entity.substr(split.body_start);
  if (!has_8bit(body)) return std::string(entity);
  auto fields = parse_header(head);
  if (!fields) return std::string(entity);
  const HeaderField* ctf = find_field(*fields, "Content-Type");
  ContentType ct = ctf ? parse_content_type(ctf->value()) : ContentType{};
  std::string sep(entity.substr(split.header_end, split.body_start - split.header_end));
  if (ct.type.rfind("multipart/", 0) == 0 && !ct.boundary.empty()) {
    return std::string(head) + sep + convert_multipart(body, ct.boundary, depth);
  }
  if (ct.type == "message/rfc822") return std::string(head) + sep + convert_entity(body, false, depth + 1);
  const HeaderField* cte = find_field(*fields, "Content-Transfer-Encoding");
  std::string enc = cte ? lower(cte->value()) : "";
  if (enc == "base64" || enc == "quoted-printable" || ct.type.rfind("message/", 0) == 0 ||
      ct.type.rfind("multipart/", 0) == 0) {
    return std::string(entity);
  }
  std::string out;
  for (const auto& f : *fields) {
    if (!f.is("Content-Transfer-Encoding")) out += f.raw;
  }
  if (!out.empty() && out.back() != '\n') out += '\n';
  if (top && !find_field(*fields, "MIME-Version")) out += "MIME-Version: 1.0\n";
  if (!ctf) out += valid_utf8(body) ? "Content-Type: text/plain; charset=utf-8\n" : "Content-Type: text/plain; charset=unknown-8bit\n";
  out += "Content-Transfer-Encoding: quoted-printable\n";
  out += "\n";
  out += quoted_printable(body);
  return out;
}

}  // namespace

bool has_8bit(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80 || c == 0) return true;
  }
  return false;
}

std::string quoted_printable(std::string_view body) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(body.size() + body.size() / 8);
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    size_t end = nl == std::string_view::npos ? body.size() : nl;
    std::string_view line = body.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r' && nl != std::string_view::npos) line.remove_suffix(1);  // CRLF stays a line end
    size_t col = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(line[i]);
      bool last = i + 1 == line.size();
      std::string piece;
      if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last)) {
        piece = static_cast<char>(c);
      } else {
        piece = {'=', hex[c >> 4], hex[c & 15]};
      }
      // A soft line break "=" keeps each line at most 76 octets (RFC 2045 6.7 rule 5).
      if (col + piece.size() > (last ? 76 : 75)) {
        out += "=\n";
        col = 0;
      }
      out += piece;
      col += piece.size();
    }
    if (nl != std::string_view::npos) out += '\n';
    pos = end + 1;
  }
  return out;
}

std::string downgrade_8bit(std::string_view message) { return convert_entity(message, true, 0); }

}  // namespace quail
