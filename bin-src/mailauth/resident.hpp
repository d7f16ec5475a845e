// mailauth -d: the resident helper (man/mailauth.8, "Resident mode").
#pragma once
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace quail::mailauth {

// Started by root with uid and groups (a system install: quail-smtpd's), it
// binds, gives the socket to them and becomes them; without, it stays who it is.
int run_resident(const std::string& root, std::optional<uid_t> uid, const std::vector<gid_t>& groups);

}  // namespace quail::mailauth
