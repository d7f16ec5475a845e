// The users and groups of a system install, one group per purpose
// (queue-layout/privileges.md): what quail init --system makes and quail check
// --repair restores on an install made before the groups were split.
#pragma once
#include <string>
#include <vector>

#include "result.hpp"

namespace quail {

// Writes the queue (queue-layout/README.md, "Directories"): quail-queue, quail-send.
inline constexpr const char* queue_group = "quail";
// May run bin/remote-deliver (set-uid quail-remote, mode 4710): queue-send's user only.
inline constexpr const char* remote_group = "quail-send";
// Reads users/users.cdb, users/homes.cdb and the virtual homes under mail/: the
// mail user (virtual deliveries look their user up) and quail-smtpd (RCPT, AUTH).
inline constexpr const char* users_group = "quail-mail";

struct SystemAccount {
  std::string user;
  std::string group;                // primary
  std::vector<std::string> groups;  // supplementary, each listing user as a member
};

// Every service user: quail-queue, quail-send, quail-smtpd, quail-remote, quail-mail, quail-log.
const std::vector<SystemAccount>& system_accounts();

// How the user's groups differ from the account's ("primary group quail, want
// quail-smtpd; not in quail-mail"), "" when they match. Reads /etc/passwd and
// /etc/group through NSS; not_found when the user is missing.
Result<std::string> account_difference(const SystemAccount& a);

// Makes the account's groups and user when missing (groupadd, useradd --system,
// home root, shell nologin) and gives an existing user its primary group and
// memberships (usermod, gpasswd): the upgrade from one group for every service.
Status ensure_account(const SystemAccount& a, const std::string& home);

}  // namespace quail
