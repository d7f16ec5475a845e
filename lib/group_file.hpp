// A login's supplementary groups, read from group(5) by local-spawn itself rather
// than through initgroups(3) and NSS, so local-spawn links no NSS and can be
// static (a smaller process to fork per delivery). Trusts root's /etc/group for
// content, not form: a malformed line grants nothing.
#pragma once
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "result.hpp"

namespace quail {

inline constexpr const char* system_group_path = "/etc/group";

// The groups of `user` in the text of a group file: `primary` first, then each
// group listing the user among its members (name:passwd:gid:m1,m2), in file
// order, without duplicates. Blank, #comment and +/- NIS lines are skipped.
std::vector<gid_t> groups_in(std::string_view group_file, std::string_view user, gid_t primary);

// The same for the file at path; a temporary error when it cannot be read.
Result<std::vector<gid_t>> supplementary_groups(std::string_view user, gid_t primary,
                                                const std::string& path = system_group_path);

}  // namespace quail
