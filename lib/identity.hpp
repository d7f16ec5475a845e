// Whose uid runs what in a system install: the scheduler's user, each
// delivery's (the recipient's system user, else the owner of ROOT/mail), and a
// login's after checkpassword. The only code in quail that changes uid. See
// man/local-spawn.8 and man/checkpassword.8, SECURITY.
#pragma once
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "local_lookup.hpp"

namespace quail {

struct Identity {
  uid_t uid;
  gid_t gid;
  std::string name;  // whose /etc/group memberships apply; "" = no supplementary groups
};

// Looks up a login in /etc/passwd; nullopt when unknown or unreadable.
std::optional<Identity> identity_of(const std::string& login);
// Drops to id for good (groups from /etc/group, gid, uid) and checks that root
// cannot be regained; false on any failure (an unreadable /etc/group included).
bool become(const Identity& id);
// The same with the supplementary groups given (as supplementary_groups gave
// them for id.name, earlier): for a process that must hold exactly the groups
// its parent recorded for it (local-spawn's workers per uid).
bool become_with_groups(const Identity& id, const std::vector<gid_t>& groups);

// The user one delivery runs as, from cfg (control files read for this very
// delivery): a system user's own ids; for virtual users, aliases, postmaster
// and unknown or malformed recipients (local-deliver refuses those itself), the
// owner of ROOT/mail. nullopt with why set when a table or ROOT/mail cannot be read.
// looked_up, when given, receives the recipient's lookup when one was made (a
// well-formed address), for a caller that delivers with it as the same user.
std::optional<Identity> delivery_identity(const LocalConfig& cfg, const std::string& recipient, std::string& why,
                                          std::optional<std::optional<LocalTarget>>* looked_up = nullptr);

}  // namespace quail
