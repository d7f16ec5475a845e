// Which uid's delivery worker may take a request (system installs): the root
// side of local-spawn's workers per uid. It reads what a delivery child reads as
// root before it becomes its user -- control/, users/*.cdb, the home table,
// /etc/passwd -- and nothing a user wrote. See man/local-spawn.8, "Workers".
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "identity.hpp"
#include "result.hpp"

namespace quail {

// The identity a fresh delivery child would become for recipient, when table
// lookups alone settle it; nullopt to leave the delivery to a forked child (as
// before workers): control/ or a table unreadable, a home the table has not
// caught up with, an alias with \user items, an identity of uid 0. System
// logins' homes are taken from users/homes.cdb (never read here): the server
// stats a login's home directory and opens no file in it.
std::optional<Identity> worker_identity(const std::string& root, const std::string& recipient);

// What a worker took at its start as root and must not outlive: control/srs/key
// (a stat signature of it; workers started under another one are retired), and
// its supplementary groups, from /etc/group (recorded per worker, compared when
// the file's signature changes). Its uid, gid and login are compared per request.
std::string file_signature(const std::string& path);
Result<std::vector<gid_t>> worker_groups(const Identity& who);

bool same_identity(const Identity& a, const Identity& b);

}  // namespace quail
