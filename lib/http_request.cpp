// Strict HTTP/1.1 request heads and one-click bodies: see http_request.hpp.
#include "http_request.hpp"

#include "address.hpp"

namespace quail::http {
namespace {

bool tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// Field values: visible ASCII, space, tab and obs-text; never CR, LF, NUL or other controls.
bool value_char(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

Parsed fail(int status, std::string reason) {
  Parsed p;
  p.status = status;
  p.reason = std::move(reason);
  return p;
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Checks the request line "METHOD SP target SP HTTP/1.x" into p.
bool request_line(std::string_view line, Parsed& p) {
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    p = fail(400, "malformed request line");
    return false;
  }
  std::string_view method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1),
                   version = line.substr(sp2 + 1);
  if (method.empty() || method.size() > 16 || method.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos) {
    p = fail(400, "malformed method");
    return false;
  }
  if (target.size() > max_target) {
    p = fail(414, "request-target longer than " + std::to_string(max_target));
    return false;
  }
  for (unsigned char c : target) {
    if (c <= 0x20 || c >= 0x7f) {
      p = fail(400, "control or non-ASCII character in the request-target");
      return false;
    }
  }
  if (target.empty()) {
    p = fail(400, "empty request-target");
    return false;
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    bool shaped = version.size() == 8 && version.substr(0, 5) == "HTTP/" && version[6] == '.';
    p = fail(shaped ? 505 : 400, shaped ? "HTTP version not supported" : "malformed HTTP version");
    return false;
  }
  p.request.method = method;
  p.request.target = target;
  p.request.minor = version.back() - '0';
  return true;
}

// Content-Length: 1*DIGIT, no sign, bounded.
bool content_length(std::string_view v, Parsed& p) {
  if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string_view::npos) {
    p = fail(400, "malformed Content-Length");
    return false;
  }
  size_t n = 0;
  for (char c : v) n = n * 10 + static_cast<size_t>(c - '0');
  if (n > max_body) {
    p = fail(413, "body longer than " + std::to_string(max_body));
    return false;
  }
  p.request.content_length = n;
  return true;
}

// A parameter's value from a Content-Type ("boundary"), unquoted; "" when absent.
std::string parameter(std::string_view content_type, std::string_view name) {
  size_t semi = content_type.find(';');
  while (semi != std::string_view::npos) {
    std::string_view rest = content_type.substr(semi + 1);
    size_t next = rest.find(';');
    std::string_view param = trim(rest.substr(0, next));
    size_t eq = param.find('=');
    if (eq != std::string_view::npos && lowercase(trim(param.substr(0, eq))) == name) {
      std::string_view v = trim(param.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return std::string(v);
    }
    semi = next == std::string_view::npos ? next : semi + 1 + next;
  }
  return "";
}

// RFC 7578: the part whose Content-Disposition names List-Unsubscribe holds One-Click.
bool multipart_one_click(std::string_view body, const std::string& boundary) {
  if (boundary.empty() || boundary.size() > 70) return false;
  const std::string delim = "--" + boundary;
  size_t pos = body.find(delim);
  while (pos != std::string_view::npos) {
    size_t start = pos + delim.size();
    if (body.substr(start, 2) == "--") return false;  // the closing delimiter
    if (body.substr(start, 2) != "\r\n") return false;
    start += 2;
    size_t next = body.find("\r\n" + delim, start);
    if (next == std::string_view::npos) return false;
    std::string_view part = body.substr(start, next - start);
    size_t blank = part.find("\r\n\r\n");
    std::string_view head = blank == std::string_view::npos ? part : part.substr(0, blank + 2);
    std::string_view content = blank == std::string_view::npos ? std::string_view() : part.substr(blank + 4);
    for (size_t line = 0; line < head.size();) {
      size_t end = head.find("\r\n", line);
      if (end == std::string_view::npos) break;
      std::string_view f = head.substr(line, end - line);
      line = end + 2;
      size_t colon = f.find(':');
      if (colon == std::string_view::npos || lowercase(f.substr(0, colon)) != "content-disposition") continue;
      std::string_view v = trim(f.substr(colon + 1));
      if (lowercase(v.substr(0, v.find(';'))) != "form-data") continue;
      if (parameter(v, "name") == "List-Unsubscribe" && content == "One-Click") return true;
    }
    pos = next + 2;
  }
  return false;
}

}  // namespace

std::optional<std::string_view> Request::field(std::string_view name) const {
  for (const auto& [n, v] : fields) {
    if (n == name) return std::string_view(v);
  }
  return std::nullopt;
}

size_t head_end(std::string_view buf) {
  size_t p = buf.find("\r\n\r\n");
  return p == std::string_view::npos ? p : p + 4;
}

Parsed parse_head(std::string_view head) {
  if (head.size() > max_head) return fail(431, "request head longer than " + std::to_string(max_head));
  if (head.size() < 4 || head.substr(head.size() - 4) != "\r\n\r\n") return fail(400, "the head does not end in a blank line");
  Parsed p;
  size_t pos = 0;
  bool first = true, host = false, length = false;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    std::string_view line = head.substr(pos, end - pos);
    pos = end + 2;
    // A CR or LF alone inside a line is how requests are smuggled past other parsers.
    if (line.find_first_of("\r\n") != std::string_view::npos) return fail(400, "bare CR or LF in the head");
    if (first) {
      if (!request_line(line, p)) return p;
      first = false;
      continue;
    }
    if (line.empty()) break;  // the blank line: the last one, by head_end
    if (line[0] == ' ' || line[0] == '\t') return fail(400, "obsolete line folding");
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return fail(400, "malformed header field");
    std::string_view name = line.substr(0, colon);
    for (unsigned char c : name) {
      if (!tchar(c)) return fail(400, "malformed header field name");
    }
    std::string_view value = trim(line.substr(colon + 1));
    for (unsigned char c : value) {
      if (!value_char(c)) return fail(400, "control character in a header field");
    }
    if (p.request.fields.size() == max_fields) return fail(431, "more than " + std::to_string(max_fields) + " header fields");
    std::string lname = lowercase(name);
    if (lname == "transfer-encoding") return fail(501, "Transfer-Encoding is not supported; send Content-Length");
    if (lname == "content-length") {
      if (length) return fail(400, "a second Content-Length");
      if (!content_length(value, p)) return p;
      length = true;
    }
    if (lname == "host") {
      if (host) return fail(400, "a second Host");
      host = true;
    }
    p.request.fields.emplace_back(std::move(lname), std::string(value));
  }
  if (p.request.minor == 1 && !host) return fail(400, "no Host field in an HTTP/1.1 request");
  return p;
}

std::optional<std::string> target_path(std::string_view target) {
  if (target.empty() || target[0] != '/' || target.find('#') != std::string_view::npos) return std::nullopt;
  std::string_view raw = target.substr(0, target.find('?'));
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(raw[i]);
    if (c == '%') {
      if (i + 2 >= raw.size()) return std::nullopt;
      int hi = hex(raw[i + 1]), lo = hex(raw[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<unsigned char>(hi * 16 + lo);
      i += 2;
    }
    if (c < 0x20 || c == 0x7f) return std::nullopt;
    out += static_cast<char>(c);
  }
  return out;
}

std::string_view last_segment(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string encode_segment(std::string_view text) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    bool plain = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 std::string_view("-._~@=+").find(static_cast<char>(c)) != std::string_view::npos;
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

bool one_click_body(std::string_view content_type, std::string_view body) {
  std::string type = lowercase(trim(content_type.substr(0, content_type.find(';'))));
  if (type == "application/x-www-form-urlencoded") {
    // A browser's form may end the body with a line end; the pair is matched exactly.
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
    for (size_t pos = 0; pos <= body.size();) {
      size_t amp = body.find('&', pos);
      std::string_view pair = body.substr(pos, amp == std::string_view::npos ? amp : amp - pos);
      if (pair == "List-Unsubscribe=One-Click") return true;
      if (amp == std::string_view::npos) break;
      pos = amp + 1;
    }
    return false;
  }
  if (type == "multipart/form-data") return multipart_one_click(body, parameter(content_type, "boundary"));
  return false;
}

std::string_view status_text(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
  }
  return "Error";
}

}  // namespace quail::http
