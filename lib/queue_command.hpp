// Commands from `quail queue` to queue-send: one line in a file of queue/cmd/
// (queue-layout/README.md, "Queue tools"). queue-send is the only program that
// changes a queued message, so hold, release, retry and delete go through it and
// keep the journal's guarantees. The parser trusts no byte of the file.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "queue_file.hpp"
#include "result.hpp"

namespace quail {

enum class QueueVerb : uint8_t { retry, del, hold, release };

struct QueueCommand {
  QueueVerb verb = QueueVerb::retry;
  std::string id;      // a message id (lib/queue_id.hpp), or "" with all / domain
  bool all = false;    // retry all
  std::string domain;  // del: every recipient at this domain (lowercase), in every message
  bool bounce = false; // del: the sender gets a failure notice
};

// "retry <id>|all", "delete <id>|@<domain> [bounce]", "hold <id>", "release <id>",
// ending in one newline. nullopt for anything else.
std::optional<QueueCommand> parse_queue_command(std::string_view text);
// The line parse_queue_command reads back.
std::string format_queue_command(const QueueCommand& c);

// How a command given to queue-send went.
enum class CommandOutcome : uint8_t {
  done,         // queue-send read it and carried it out (its file is gone)
  not_running,  // no queue-send: it waits in queue/cmd/ for the next start
  pending,      // queue-send has not taken it within the wait
};
// Writes the command to queue/cmd/<time>.<pid> (write, fsync, rename, fsync
// cmd/: it survives a crash until queue-send removes it), writes 'c' to the
// trigger and waits up to wait_ms for queue-send to remove the file.
Result<CommandOutcome> give_queue_command(const QueueDirs& dirs, const QueueCommand& c, int wait_ms);

}  // namespace quail
