// group(5) read by local-spawn: see group_file.hpp.
#include "group_file.hpp"

#include <algorithm>

#include "fd.hpp"
#include "passwd_file.hpp"

namespace quail {
namespace {

constexpr size_t max_group_size = size_t{64} << 20;

// True when line is a well-formed group entry listing user; its gid in gid.
bool lists(std::string_view line, std::string_view user, gid_t& gid) {
  if (line.empty() || line[0] == '#' || line[0] == '+' || line[0] == '-') return false;
  std::string_view f[4];
  size_t start = 0;
  for (int i = 0; i < 4; ++i) {
    size_t colon = line.find(':', start);
    if ((i < 3) == (colon == std::string_view::npos)) return false;  // exactly three colons
    f[i] = line.substr(start, i < 3 ? colon - start : std::string_view::npos);
    start = colon + 1;
  }
  if (f[0].empty() || !parse_id(f[2], gid)) return false;
  for (unsigned char c : line) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  std::string_view members = f[3];
  while (!members.empty()) {
    size_t comma = members.find(',');
    if (members.substr(0, comma) == user) return true;
    if (comma == std::string_view::npos) break;
    members.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

std::vector<gid_t> groups_in(std::string_view text, std::string_view user, gid_t primary) {
  std::vector<gid_t> out{primary};
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    gid_t gid;
    if (!user.empty() && lists(line, user, gid) && std::find(out.begin(), out.end(), gid) == out.end()) {
      out.push_back(gid);
    }
  }
  return out;
}

Result<std::vector<gid_t>> supplementary_groups(std::string_view user, gid_t primary, const std::string& path) {
  auto text = read_file(path, max_group_size);
  if (!text) return text.error();
  return groups_in(*text, user, primary);
}

}  // namespace quail
