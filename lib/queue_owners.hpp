// The owners and modes of a system install's queue (queue-layout/README.md,
// "Directories"): what quail init --system gives and quail check verifies and
// restores. Group quail throughout; a single-user root is not checked.
#pragma once
#include <string>
#include <sys/types.h>
#include <vector>

#include "queue_file.hpp"
#include "result.hpp"

namespace quail {

// The group of every queue directory in a system install.
inline constexpr const char* queue_group = "quail";

struct QueueOwner {
  std::string path;  // absolute
  std::string user;  // quail-queue or quail-send
  mode_t mode;       // with the set-gid bit where files must get the group
};

// Every queue directory and the trigger FIFO with its owner and mode, directories
// before what they hold.
std::vector<QueueOwner> system_queue_owners(const QueueDirs& q);

// How path differs from its owner and mode ("owner root:root mode 0750, want
// quail-send:quail 0750"), "" when it matches. not_found when path is missing,
// temporary when the user or group does not exist.
Result<std::string> ownership_difference(const QueueOwner& o);
// Gives path its owner, group and mode (lchown, then chmod: chown clears set-gid).
Status apply_ownership(const QueueOwner& o);

}  // namespace quail
