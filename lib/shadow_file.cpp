// shadow(5) lines: see shadow_file.hpp.
#include "shadow_file.hpp"

#include <charconv>
#include <vector>

#include "fd.hpp"
#include "password.hpp"

namespace quail {
namespace {

bool parse_days(std::string_view s, std::optional<int64_t>& out) {
  if (s.empty()) {
    out.reset();
    return true;
  }
  if (s.size() > 10) return false;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) return false;
  out = v;
  return true;
}

}  // namespace

std::optional<ShadowEntry> parse_shadow_line(std::string_view line) {
  std::vector<std::string_view> f;
  size_t from = 0;
  for (;;) {
    size_t colon = line.find(':', from);
    f.push_back(line.substr(from, colon == std::string_view::npos ? std::string_view::npos : colon - from));
    if (colon == std::string_view::npos || f.size() > 9) break;
    from = colon + 1;
  }
  if (f.size() != 9 || f[0].empty()) return std::nullopt;
  ShadowEntry e{std::string(f[0]), std::string(f[1]), std::nullopt};
  std::optional<int64_t> ignored;
  for (size_t i = 2; i <= 6; ++i) {
    if (!parse_days(f[i], ignored)) return std::nullopt;
  }
  if (!parse_days(f[7], e.expire)) return std::nullopt;
  return e;
}

bool usable_crypt_hash(std::string_view hash) {
  if (hash.empty() || hash[0] == '!' || hash[0] == '*') return false;
  // Modern crypt(3) strings start with $id$; the 13-character DES form is all [./0-9A-Za-z].
  if (hash[0] == '$') return hash.size() > 3;
  if (hash.size() != 13) return false;
  for (char c : hash) {
    bool ok = c == '.' || c == '/' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (!ok) return false;
  }
  return true;
}

Result<std::optional<ShadowEntry>> shadow_by_name(std::string_view name, const std::string& path) {
  auto text = read_file(path, size_t{64} << 20);
  if (!text) return Error{ErrorKind::temporary, text.error().reason};
  std::string_view all = *text;
  std::optional<ShadowEntry> found;
  while (!all.empty() && !found) {
    size_t nl = all.find('\n');
    std::string_view line = all.substr(0, nl);
    all.remove_prefix(nl == std::string_view::npos ? all.size() : nl + 1);
    if (line.size() <= name.size() || line.compare(0, name.size(), name) != 0 || line[name.size()] != ':') continue;
    found = parse_shadow_line(line);  // the first line for a name decides, as in glibc
    if (!found) break;
  }
  // The file's text held every hash: wipe it before it is freed.
  Secret wipe(std::move(*text));
  return found;
}

}  // namespace quail
