// RESP 2 parser and command encoder: see resp.hpp.
#include "resp.hpp"

#include "decimal.hpp"

namespace quail::resp {
namespace {

// A line up to CRLF at pos: false when incomplete; malformed set on a bare CR or LF.
bool line_at(std::string_view buf, size_t pos, std::string_view& line, size_t& next, bool& malformed) {
  size_t lf = buf.find('\n', pos);
  if (lf == std::string_view::npos) return false;
  if (lf == pos || buf[lf - 1] != '\r') {
    malformed = true;
    return false;
  }
  line = buf.substr(pos, lf - 1 - pos);
  if (line.find('\r') != std::string_view::npos) malformed = true;
  next = lf + 1;
  return !malformed;
}

// A signed decimal of at most 18 digits (no overflow possible).
bool parse_int(std::string_view s, int64_t& out) {
  bool neg = !s.empty() && s[0] == '-';
  if (neg) s.remove_prefix(1);
  if (s.empty() || s.size() > 18) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = neg ? -v : v;
  return true;
}

Parse parse_at(std::string_view buf, size_t pos, Value& out, size_t& next, int depth) {
  if (pos >= buf.size()) return Parse::incomplete;
  if (depth > max_depth) return Parse::malformed;
  char type = buf[pos];
  std::string_view line;
  bool bad = false;
  if (!line_at(buf, pos + 1, line, next, bad)) return bad ? Parse::malformed : Parse::incomplete;
  switch (type) {
    case '+':
    case '-':
      out = Value{type == '+' ? Type::simple : Type::error, std::string(line), 0, {}};
      return Parse::ok;
    case ':':
      out = Value{Type::integer, "", 0, {}};
      return parse_int(line, out.integer) ? Parse::ok : Parse::malformed;
    case '$': {
      int64_t n;
      if (!parse_int(line, n) || n < -1 || n > int64_t(max_bulk)) return Parse::malformed;
      if (n == -1) {
        out = Value{};
        return Parse::ok;
      }
      size_t len = size_t(n);
      if (buf.size() < next + len + 2) return Parse::incomplete;
      if (buf.substr(next + len, 2) != "\r\n") return Parse::malformed;
      out = Value{Type::bulk, std::string(buf.substr(next, len)), 0, {}};
      next += len + 2;
      return Parse::ok;
    }
    case '*': {
      int64_t n;
      if (!parse_int(line, n) || n < -1 || n > int64_t(max_elements)) return Parse::malformed;
      out = Value{n == -1 ? Type::nil : Type::array, "", 0, {}};
      for (int64_t i = 0; i < n; ++i) {
        Value v;
        Parse p = parse_at(buf, next, v, next, depth + 1);
        if (p != Parse::ok) return p;
        out.elements.push_back(std::move(v));
      }
      return Parse::ok;
    }
    default: return Parse::malformed;
  }
}

}  // namespace

Parse parse(std::string_view buf, Value& out, size_t& used) {
  size_t next = 0;
  Value v;
  Parse p = parse_at(buf, 0, v, next, 0);
  if (p == Parse::ok) {
    out = std::move(v);
    used = next;
  }
  return p;
}

std::string command(const std::vector<std::string_view>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (auto a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out += a;
    out += "\r\n";
  }
  return out;
}

}  // namespace quail::resp
