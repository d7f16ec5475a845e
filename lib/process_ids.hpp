// The ids a root-started server drops to, as tcpserver and mailauth -d take them
// on their command lines: -u UID and -g GID[,GID...] (the group, then the
// supplementary ones; a system install's quail-smtpd reads the user tables
// through group quail-mail). Numbers only: no name lookup, so no NSS module is
// loaded into a static program.
#pragma once
#include <optional>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "result.hpp"

namespace quail {

inline constexpr size_t max_groups = 64;

std::optional<uid_t> parse_uid(std::string_view s);
// One to max_groups numeric gids, comma-separated; nullopt otherwise.
std::optional<std::vector<gid_t>> parse_gids(std::string_view s);
// argv[first..argc) as "-u UID" and "-g GID[,GID...]", each at most once, in
// either order (a resident helper's flags); false on anything else.
bool parse_id_flags(int argc, char** argv, int first, std::optional<uid_t>& uid, std::vector<gid_t>& groups);
// setgroups(groups) and setgid(groups[0]) when groups is not empty, then setuid;
// a uid without groups clears root's supplementary groups first.
Status drop_privileges(std::optional<uid_t> uid, const std::vector<gid_t>& groups);

}  // namespace quail
