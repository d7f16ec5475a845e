// -u and -g: see process_ids.hpp.
#include "process_ids.hpp"

#include <grp.h>
#include <string_view>
#include <string>
#include <unistd.h>

#include "decimal.hpp"

namespace quail {
namespace {

constexpr uint64_t max_id = 0x7fffffff;

}  // namespace

std::optional<uid_t> parse_uid(std::string_view s) {
  auto v = parse_decimal(s, max_id, LeadingZeros::allow);
  if (!v) return std::nullopt;
  return static_cast<uid_t>(*v);
}

std::optional<std::vector<gid_t>> parse_gids(std::string_view s) {
  std::vector<gid_t> out;
  for (;;) {
    size_t comma = s.find(',');
    auto v = parse_decimal(s.substr(0, comma), max_id, LeadingZeros::allow);
    if (!v || out.size() >= max_groups) return std::nullopt;
    out.push_back(static_cast<gid_t>(*v));
    if (comma == std::string_view::npos) return out;
    s.remove_prefix(comma + 1);
  }
}

bool parse_id_flags(int argc, char** argv, int first, std::optional<uid_t>& uid, std::vector<gid_t>& groups) {
  for (int i = first; i < argc; i += 2) {
    if (i + 1 >= argc) return false;
    std::string_view flag = argv[i];
    if (flag == "-u" && !uid) {
      if (!(uid = parse_uid(argv[i + 1]))) return false;
    } else if (flag == "-g" && groups.empty()) {
      auto g = parse_gids(argv[i + 1]);
      if (!g) return false;
      groups = std::move(*g);
    } else {
      return false;
    }
  }
  return true;
}

Status drop_privileges(std::optional<uid_t> uid, const std::vector<gid_t>& groups) {
  if (!groups.empty() && (::setgroups(groups.size(), groups.data()) != 0 || ::setgid(groups.front()) != 0)) {
    return sys_error(ErrorKind::temporary, "set gid " + std::to_string(groups.front()));
  }
  if (uid) {
    if (groups.empty() && ::geteuid() == 0 && ::setgroups(0, nullptr) != 0) {
      return sys_error(ErrorKind::temporary, "clear supplementary groups");
    }
    if (::setuid(*uid) != 0) return sys_error(ErrorKind::temporary, "set uid " + std::to_string(*uid));
  }
  return {};
}

}  // namespace quail
