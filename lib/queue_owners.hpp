// The owners and modes of a system install's queue (queue-layout/README.md,
// "Directories"), and of the rest of the root that has one
// (queue-layout/privileges.md): what quail init --system gives and quail check
// verifies and restores. A single-user root is not checked.
#pragma once
#include <string>
#include <sys/types.h>
#include <vector>

#include "queue_file.hpp"
#include "result.hpp"
#include "system_accounts.hpp"

namespace quail {

struct QueueOwner {
  std::string path;   // absolute
  std::string user;   // quail-queue, quail-send, ... or root
  mode_t mode;        // with the set-gid bit where files must get the group
  std::string group;  // queue_group for the queue; "root" is gid 0
  bool optional = false;  // may be missing (homes.cdb before its first build)
};

// Every queue directory and the trigger FIFO with its owner and mode, directories
// before what they hold.
std::vector<QueueOwner> system_queue_owners(const QueueDirs& q);
// The rest of a system install's root that has an owner other than root:root:
// users/ and its tables, mail/, state/, the TLS and SRS keys, control/smtpauth,
// the set-uid copies in bin/.
std::vector<QueueOwner> system_root_owners(const std::string& root);

// How path differs from its owner and mode ("owner root:root mode 0750, want
// quail-send:quail 0750"), "" when it matches. not_found when path is missing,
// temporary when the user or group does not exist.
Result<std::string> ownership_difference(const QueueOwner& o);
// Gives path its owner, group and mode (lchown, then chmod: chown clears set-gid).
Status apply_ownership(const QueueOwner& o);
// Every file and directory under dir, dir included, becomes user:group, keeping
// modes (mail/ in a system install: the virtual homes).
Status own_tree(const std::string& dir, const std::string& user, const std::string& group);

}  // namespace quail
