// List settings: see list_config.hpp and queue-layout/lists.md.
#include "list_config.hpp"

#include <optional>
#include <set>

#include "address.hpp"

namespace quail {
namespace {

Error bad(int lineno, const std::string& why) {
  return Error{ErrorKind::format, "config:" + std::to_string(lineno) + ": " + why};
}

bool printable(std::string_view v) {
  for (unsigned char c : v) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

Result<bool> parse_flag(std::string_view v, int lineno, std::string_view name) {
  if (v == "0") return false;
  if (v == "1") return true;
  return bad(lineno, std::string(name) + " must be 0 or 1");
}

// Decimal seconds, 0 to ten years, digits only.
std::optional<int64_t> parse_seconds(std::string_view v) {
  if (v.empty() || v.size() > 9) return std::nullopt;
  int64_t n = 0;
  for (char ch : v) {
    if (ch < '0' || ch > '9') return std::nullopt;
    n = n * 10 + (ch - '0');
  }
  if (n > 10LL * 365 * 86400) return std::nullopt;
  return n;
}

}  // namespace

std::string ListConfig::local() const { return address.substr(0, address.rfind('@')); }
std::string ListConfig::domain() const {
  size_t at = address.rfind('@');
  return at == std::string::npos ? std::string() : address.substr(at + 1);
}
std::string ListConfig::address_for(std::string_view suffix) const {
  return local() + "-" + std::string(suffix) + "@" + domain();
}
std::string ListConfig::list_id() const { return local() + "." + domain(); }

std::string_view from_rewrite_name(FromRewrite r) {
  switch (r) {
    case FromRewrite::dmarc: return "dmarc";
    case FromRewrite::always: return "always";
    case FromRewrite::never: return "never";
  }
  return "dmarc";
}

Result<ListConfig> parse_list_config(std::string_view text) {
  ListConfig c;
  std::set<std::string> seen;
  int lineno = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) return bad(lineno + 1, "the last line has no line end");
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++lineno;
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) return bad(lineno, "expected name=value");
    std::string name(line.substr(0, eq));
    std::string_view v = line.substr(eq + 1);
    if (!printable(v)) return bad(lineno, "control character in the value of " + name);
    if (!seen.insert(name).second) return bad(lineno, name + " given twice");
    if (name == "address" || name == "owner") {
      auto a = parse_address(v, false);
      if (!a || a->quoted()) return bad(lineno, name + " is not a plain local@domain address");
      (name == "address" ? c.address : c.owner) = a->str();
    } else if (name == "root") {
      if (v.empty() || v[0] != '/') return bad(lineno, "root must be an absolute path");
      c.root = v;
    } else if (name == "moderated" || name == "members_only" || name == "archive" || name == "digest" ||
               name == "one_click") {
      auto f = parse_flag(v, lineno, name);
      if (!f) return f.error();
      (name == "moderated" ? c.moderated : name == "archive" ? c.archive : name == "digest" ? c.digest
                                         : name == "one_click" ? c.one_click : c.members_only) = *f;
    } else if (name == "prefix") {
      if (v.size() > 64) return bad(lineno, "prefix longer than 64 characters");
      c.prefix = v;
    } else if (name == "cookie_lifetime" || name == "bounce_window" || name == "digest_interval") {
      auto n = parse_seconds(v);
      if (!n) return bad(lineno, name + " must be a number of seconds up to ten years");
      (name == "cookie_lifetime" ? c.cookie_lifetime : name == "bounce_window" ? c.bounce_window : c.digest_interval) = *n;
    } else if (name == "from_rewrite") {
      if (v == "dmarc") c.from_rewrite = FromRewrite::dmarc;
      else if (v == "always") c.from_rewrite = FromRewrite::always;
      else if (v == "never") c.from_rewrite = FromRewrite::never;
      else return bad(lineno, "from_rewrite must be dmarc, always or never");
    } else if (name == "digest_size") {
      auto n = parse_seconds(v);
      if (!n || *n > 64 << 20) return bad(lineno, "digest_size must be a number of bytes up to 64 MiB");
      c.digest_size = *n;
    } else {
      return bad(lineno, "unknown setting " + name);
    }
  }
  for (const char* need : {"address", "owner", "root"}) {
    if (!seen.count(need)) return bad(lineno, std::string("no ") + need + "= line");
  }
  return c;
}

std::string serialize_list_config(const ListConfig& c) {
  return "address=" + c.address + "\nowner=" + c.owner + "\nroot=" + c.root +
         "\nmoderated=" + (c.moderated ? "1" : "0") + "\nmembers_only=" + (c.members_only ? "1" : "0") +
         "\narchive=" + (c.archive ? "1" : "0") + "\ndigest=" + (c.digest ? "1" : "0") +
         "\ndigest_size=" + std::to_string(c.digest_size) + "\ndigest_interval=" + std::to_string(c.digest_interval) +
         "\nprefix=" + c.prefix + "\ncookie_lifetime=" + std::to_string(c.cookie_lifetime) +
         "\nbounce_window=" + std::to_string(c.bounce_window) + "\none_click=" + (c.one_click ? "1" : "0") +
         "\nfrom_rewrite=" + std::string(from_rewrite_name(c.from_rewrite)) + "\n";
}

}  // namespace quail
