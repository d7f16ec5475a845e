// dnsbl -d: the resident dnsbl (man/dnsbl.8, "Resident mode").
#pragma once
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace quail::dnsbl {

// Answers smtpd's sessions on ROOT/run/dnsbl.sock until SIGTERM; uid and groups
// as lib/resident_server takes them.
int run_resident(const std::string& root, std::optional<uid_t> uid, const std::vector<gid_t>& groups);

}  // namespace quail::dnsbl
