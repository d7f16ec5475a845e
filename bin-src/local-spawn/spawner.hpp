// local-spawn's two jobs: start the scheduler under its own unprivileged user, and
// run one local delivery as the recipient's user. See man/local-spawn.8.
#pragma once
#include <string>
#include <sys/types.h>
#include <vector>

#include "fd.hpp"
#include "local_lookup.hpp"
#include "lspawn.hpp"

namespace quail {

struct Identity {
  uid_t uid;
  gid_t gid;
  std::string name;  // for initgroups; "" = no supplementary groups
};

// Looks up a login; nullopt when unknown.
std::optional<Identity> identity_of(const std::string& login);
// Drops to id for good (groups, gid, uid) and checks that root cannot be regained.
bool become(const Identity& id);

// Runs local-deliver for one request as the recipient's user and returns the
// reply for queue-send. Never throws; any trouble is a 111 reply.
LspawnReply deliver_as_recipient(const LocalConfig& cfg, const LspawnRequest& req, int msg_fd);

}  // namespace quail
