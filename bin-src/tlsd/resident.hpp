// tlsd -d: the resident tlsd (man/tlsd.8, "Resident mode").
#pragma once
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace quail::tlsd {

// Serves STARTTLS for smtpd's and pop3d's sessions on ROOT/run/tlsd.sock until
// SIGTERM; uid and groups as lib/resident_server takes them.
int run_resident(const std::string& root, std::optional<uid_t> uid, const std::vector<gid_t>& groups);

}  // namespace quail::tlsd
