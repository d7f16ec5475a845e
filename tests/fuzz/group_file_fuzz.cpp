// libFuzzer harness for lib/group_file: the groups found for a user are the
// primary gid first, then only gids of well-formed lines that list the user,
// each once; no input crashes or grants (gid_t)-1.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "group_file.hpp"

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

// Whether some line names `user` and has gid in its third field (leading zeros
// allowed), however malformed otherwise: a superset of what the parser may grant.
bool mentioned(std::string_view text, std::string_view user, gid_t gid) {
  while (!text.empty()) {
    size_t lf = text.find('\n');
    std::string_view line = text.substr(0, lf);
    text.remove_prefix(lf == std::string_view::npos ? text.size() : lf + 1);
    size_t c1 = line.find(':'), c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    size_t c3 = c2 == std::string_view::npos ? c2 : line.find(':', c2 + 1);
    if (c3 == std::string_view::npos || line.find(user, c3) == std::string_view::npos) continue;
    uint64_t v = 0;
    bool digits = c3 > c2 + 1;
    for (char c : line.substr(c2 + 1, c3 - c2 - 1)) {
      digits = digits && c >= '0' && c <= '9';
      if (digits && v < (uint64_t{1} << 40)) v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (digits && v == gid) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // The first line names the user; the rest is the group file.
  size_t lf = in.find('\n');
  std::string_view user = in.substr(0, lf == std::string_view::npos ? in.size() : lf);
  std::string_view text = lf == std::string_view::npos ? std::string_view() : in.substr(lf + 1);
  const gid_t primary = 4242;
  std::vector<gid_t> got = quail::groups_in(text, user, primary);
  require(!got.empty() && got.front() == primary);
  for (size_t i = 1; i < got.size(); ++i) {
    require(got[i] != static_cast<gid_t>(-1));
    require(std::count(got.begin(), got.end(), got[i]) == 1);
    require(!user.empty() && mentioned(text, user, got[i]));
  }
  return 0;
}
