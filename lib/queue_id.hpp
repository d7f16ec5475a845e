// A message's id: what a sender, a log line and `quail queue` call one message.
// Unique for the life of the installation (queue-layout/README.md, "Message ids"):
// it joins the queue file's birth (ns, from its header) and its inode, so the
// pool's reuse of a file gives the next message a new id. The inode alone, which
// names the file in todo/, mess/, stat/ and hold/, stays inside queue-layout/.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace quail {

// The birth in 12 lowercase base-36 digits (ns since 1970: enough until 2119),
// then the inode in decimal: "mip3q2d5k8ab457". Fixed width first, so ids sort
// by age and split without a separator; letters and digits only, so a terminal
// selects one with a double click and grep needs no quoting.
std::string message_id(uint64_t inode, int64_t birth_ns);

struct MessageIdParts {
  uint64_t inode = 0;
  int64_t birth_ns = 0;
};
// Parses an id (case-insensitive); nullopt for anything message_id cannot have made.
std::optional<MessageIdParts> parse_message_id(std::string_view id);

}  // namespace quail
